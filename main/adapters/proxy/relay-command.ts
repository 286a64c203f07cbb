// The guestfwd program for a guest connection (QEMU runs it through /bin/sh once per connection):
//   relayCommand('127.0.0.1', proxy.port)   -> 'node .../relay.mjs 127.0.0.1 PORT' (shell-quoted)
import { fileURLToPath } from 'node:url';

export const RELAY_SCRIPT = fileURLToPath(new URL('./relay.mjs', import.meta.url));

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function relayCommand(host: string, port: number): string {
  return [process.execPath, RELAY_SCRIPT, host, String(port)].map(shq).join(' ');
}
