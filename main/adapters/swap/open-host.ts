// Opens the swap seam for a target of the CLI contract. dir: works here; ssh:// hosts get the same seam
// over the ssh adapter (see swap-host.ts) — until that lands they are refused clearly.
import { UnderstudyError } from '../../core/domain/errors.ts';
import { parseTarget } from '../../core/domain/map-target.ts';
import { openDirHost } from './dir-host.ts';
import type { SwapHost } from './swap-host.ts';

export async function openSwapHost(target: string): Promise<SwapHost> {
  const t = parseTarget(target);
  if (t.kind === 'dir') return openDirHost(`dir:${t.path}`);
  throw new UnderstudyError('not-implemented', `swap, rollback and recover on ${t.kind === 'ssh' ? 'ssh://' : 'local'} targets are not built yet in this version; dir: targets work`);
}
