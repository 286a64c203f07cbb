// A connection to an ssh:// host opened before the swap and kept for the restart stage. A swap can leave
// the host's running sshd unable to serve new connections until it is restarted: Debian 12 -> 13 replaces
// OpenSSH 9 with 10, whose listener execs a new sshd-session binary the old daemon knows nothing of, so
// every new login fails ("Connection lost before handshake"); apt itself restarts sshd in the package's
// postinst, which a swap does not run. The restart (or the reboot) then goes through the connection that
// was open before the swap; after a reboot the new sshd serves new connections as usual.
import type { RemoteShell } from '../../core/ports/remote-shell.port.ts';
import { parseTarget } from '../../core/domain/map-target.ts';
import type { Connect } from './restart.ts';
import type { StreamingShell } from '../../adapters/ssh/ssh-shell.ts';

/** The held shell lent to a seam that closes what it is given (openShellHost): its close keeps it open. */
export function lend(shell: RemoteShell): StreamingShell {
  const s = shell as StreamingShell;
  const lent: StreamingShell = { exec: (c, o) => s.exec(c, o), run: (c, o) => s.run(c, o), close: async () => undefined };
  if (s.execStream) lent.execStream = (c, o) => s.execStream!(c, o);
  return lent;
}

/** A shell on an ssh:// target, or undefined (other targets; or the host cannot be reached now: the swap
 *  itself then says why). */
export async function holdConnection(target: string, connect: Connect): Promise<RemoteShell | undefined> {
  const t = parseTarget(target);
  if (t.kind !== 'ssh') return undefined;
  return connect(t).catch(() => undefined);
}
