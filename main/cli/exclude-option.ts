// --exclude PATH (capture, rehearse, upgrade): a path below the captured root.
import { UnderstudyError } from '../core/domain/errors.ts';

/** '/' (everything) or a '..' component (outside the root) is a mistake, not a no-op: usage error. */
export function checkExcludes(paths: string[]): void {
  for (const p of paths) {
    const parts = p.split('/').filter((x) => x !== '' && x !== '.');
    if (parts.length === 0) throw new UnderstudyError('usage', `--exclude '${p}' would leave out the whole root; name a path below it`);
    if (parts.includes('..')) throw new UnderstudyError('usage', `--exclude '${p}' has a '..' component; give the path as it is on the host, e.g. /var/cache`);
  }
}
