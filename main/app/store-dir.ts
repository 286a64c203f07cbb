// Where the store lives: --store DIR, else $UNDERSTUDY_STORE, else $XDG_DATA_HOME/understudy.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function resolveStoreDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return resolve(flag);
  if (env.UNDERSTUDY_STORE) return resolve(env.UNDERSTUDY_STORE);
  const data = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(data, 'understudy');
}
