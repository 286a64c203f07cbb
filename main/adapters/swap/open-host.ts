// Opens the swap seam for a target of the CLI contract. dir: works here; ssh:// hosts get the same seam
// over the ssh adapter (ssh-host.ts), given the caller's connect (keys, known_hosts policy); `local` gets
// it over a LocalShell (root required).
import { UnderstudyError } from '../../core/domain/errors.ts';
import { parseTarget } from '../../core/domain/map-target.ts';
import { openLocalHost } from '../local/local-host.ts';
import { openDirHost } from './dir-host.ts';
import type { SwapHost } from './swap-host.ts';
import { openSshHost, type SshConnect } from './ssh-host.ts';

export async function openSwapHost(target: string, opts?: { connect?: SshConnect }): Promise<SwapHost> {
  const t = parseTarget(target);
  if (t.kind === 'dir') return openDirHost(`dir:${t.path}`);
  if (t.kind === 'local') return openLocalHost();
  if (!opts?.connect) throw new UnderstudyError('not-implemented', `${target}: ssh:// targets are not wired to this caller yet; dir: and local targets work`);
  return openSshHost(target, opts.connect);
}
