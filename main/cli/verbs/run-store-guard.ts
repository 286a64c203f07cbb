// A verb that looks a run or batch up by id must not create the run store to find that it is not there:
// bad input leaves the store untouched (opening RunStore creates STORE/runs.db).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UnderstudyError } from '../../core/domain/errors.ts';

export const hasRunStore = (store: string): boolean => existsSync(join(store, 'runs.db'));

/** Throws the usage error for an unknown id, e.g. what = "run 'abc'", when the store has no runs at all. */
export function requireRunStore(store: string, what: string): void {
  if (!hasRunStore(store)) throw new UnderstudyError('usage', `no ${what}: there are no runs in ${store}`);
}
