// Entry point of every capture: parses the target, finds the previous map for incremental reads, runs
// the right capture kind. The ssh:// kind needs a RemoteShell (main/adapters/ssh), given by the caller.
import { resolve } from 'node:path';
import { parseTarget, targetString } from '../../core/domain/map-target.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { RemoteShell } from '../../core/ports/remote-shell.port.ts';
import { previousMap } from '../store/map-store.ts';
import { captureLocal } from './capture-local.ts';
import { captureRemote } from './capture-remote.ts';
import { HOST_WORK } from '../swap/ssh-host.ts';
import type { CaptureOptions, CaptureResult } from './capture-common.ts';

export interface CaptureRequest extends Omit<CaptureOptions, 'target' | 'previous'> {
  target: string;
  /** Opens a shell to an ssh:// target (required for those). */
  connect?(t: { user: string; host: string; port: number }): Promise<RemoteShell>;
  /** Ignore the previous map (read everything). */
  full?: boolean;
}

export async function capture(req: CaptureRequest): Promise<CaptureResult> {
  const t = parseTarget(req.target);
  const target = targetString(t, t.kind === 'dir' ? resolve(t.path) : undefined);
  // a local capture reuses from the stat index alone; ssh:// matches against the previous manifest
  const previous = req.full ? undefined : await previousMap(req.store, target, t.kind === 'ssh');
  // understudy's own journal, staging and undo areas on a real host are not part of its OS: left out of
  // every capture of it (CLI, workflow, batch), so no map carries them and a rollback's check is exact
  const excludes = t.kind === 'dir' ? req.excludes : [...(req.excludes ?? []), HOST_WORK.slice(1)];
  const opts: CaptureOptions = { ...req, target, previous, ...(excludes ? { excludes } : {}) };
  if (t.kind === 'dir') return captureLocal({ ...opts, root: resolve(t.path), whole: false });
  if (t.kind === 'local') {
    if (process.getuid?.() !== 0) throw new UnderstudyError('bad-target', 'capturing local needs root (run with sudo)');
    return captureLocal({ ...opts, root: '/', whole: true });
  }
  if (!req.connect) throw new UnderstudyError('bad-target', `${target}: no SSH transport available`);
  const shell = await req.connect(t);
  try {
    return await captureRemote({ ...opts, shell, sudo: t.user !== 'root' });
  } finally {
    await shell.close();
  }
}
