// The guestfwd program for a guest connection (QEMU runs it through /bin/sh once per connection):
//   relayCommand('127.0.0.1', mirror.port)          -> 'node .../relay.mjs 127.0.0.1 PORT' (shell-quoted)
//   relayCommandForUrl('http://host:8080/debian')   -> the same for --mirror URL (host and port only)
//   mirrorUrlEndpoint(url)                           -> { host, port } of such a URL
import { fileURLToPath } from 'node:url';
import { UnderstudyError } from '../../core/domain/errors.ts';

export const RELAY_SCRIPT = fileURLToPath(new URL('./relay.mjs', import.meta.url));

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function relayCommand(host: string, port: number): string {
  return [process.execPath, RELAY_SCRIPT, host, String(port)].map(shq).join(' ');
}

/** The host and port a --mirror URL's connections go to (only plain http:// can be relayed). */
export function mirrorUrlEndpoint(url: string): { host: string; port: number } {
  let u: URL;
  try { u = new URL(url); } catch { throw new UnderstudyError('usage', `--mirror ${url}: not a URL`); }
  if (u.protocol !== 'http:') throw new UnderstudyError('usage', `--mirror ${url}: only http:// mirrors can be relayed (apt in the guest speaks plain HTTP to 10.0.2.100)`);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 80) };
}

export function relayCommandForUrl(url: string): string {
  const to = mirrorUrlEndpoint(url);
  return relayCommand(to.host, to.port);
}
