// Where the store lives: --store DIR, else $UNDERSTUDY_STORE, else $XDG_DATA_HOME/understudy.
import { existsSync, statfsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { UnderstudyError } from '../core/domain/errors.ts';

export function resolveStoreDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  let dir: string;
  if (flag) dir = resolve(flag);
  else if (env.UNDERSTUDY_STORE) dir = resolve(env.UNDERSTUDY_STORE);
  else dir = join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'understudy');
  refusePseudoFilesystem(dir);
  return dir;
}

// Kernel pseudo filesystems cannot hold a store, and Node's recursive mkdir never returns for a missing
// path under /proc: refuse them up front (checked by filesystem type, so bind mounts and symlinks count).
const PSEUDO_FS: Record<number, string> = { 0x9fa0: 'proc', 0x62656572: 'sysfs', 0x63677270: 'cgroup2', 0x27e0eb: 'cgroup', 0x64626720: 'debugfs' };

function refusePseudoFilesystem(dir: string): void {
  let probe = dir;
  while (!existsSync(probe) && dirname(probe) !== probe) probe = dirname(probe);
  let type: number;
  try { type = statfsSync(probe).type; } catch { return; } // unreadable: opening the store reports it
  const fs = PSEUDO_FS[type];
  if (fs) throw new UnderstudyError('usage', `the store ${dir} would be on ${probe}, a ${fs} filesystem that cannot hold files; choose another --store`);
}
