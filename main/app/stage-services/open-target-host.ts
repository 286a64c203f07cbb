// Opens the swap seam (SwapHost) for any target: dir: locally, ssh:// over the ssh adapter with the
// run's key and host-key policy, local over a LocalShell (root required).
import type { SwapHost } from '../../adapters/swap/swap-host.ts';
import { openSwapHost } from '../../adapters/swap/open-host.ts';
import { openShellHost } from '../../adapters/swap/ssh-host.ts';
import type { RemoteShell } from '../../core/ports/remote-shell.port.ts';
import { parseTarget, targetString } from '../../core/domain/map-target.ts';
import { sshConnector, type SshChoice } from './ssh-connector.ts';
import { lend } from './held-connection.ts';

/** `via`: an ssh:// target's connection held from before a swap (held-connection.ts), lent, not closed. */
export function openTargetHost(target: string, store: string, ssh: SshChoice, signal?: AbortSignal, via?: RemoteShell): Promise<SwapHost> {
  const t = parseTarget(target);
  if (via && t.kind === 'ssh') return openShellHost(targetString(t), 'ssh', lend(via), t.user === 'root' ? '' : 'sudo -n ');
  return openSwapHost(target, { connect: sshConnector(store, ssh, signal) });
}
