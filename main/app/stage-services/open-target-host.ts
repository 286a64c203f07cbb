// Opens the swap seam (SwapHost) for any target: dir: locally, ssh:// over the ssh adapter with the
// run's key and host-key policy, local over a LocalShell (root required).
import type { SwapHost } from '../../adapters/swap/swap-host.ts';
import { openSwapHost } from '../../adapters/swap/open-host.ts';
import { sshConnector, type SshChoice } from './ssh-connector.ts';

export function openTargetHost(target: string, store: string, ssh: SshChoice, signal?: AbortSignal): Promise<SwapHost> {
  return openSwapHost(target, { connect: sshConnector(store, ssh, signal) });
}
