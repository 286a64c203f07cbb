// What `rollback --to` names: a map (id or unique prefix), a workflow run (its map1 is the state before
// its swap), or a swap/rollback transaction id, tried in that order.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveMapId } from '../../adapters/store/map-store.ts';
import { RunStore } from '../../app/run-store/run-store.ts';

export async function resolveRollbackTo(store: string, to: string | undefined): Promise<string | undefined> {
  if (!to) return undefined;
  if (/^[0-9a-f]{1,64}$/.test(to)) {
    const map = await resolveMapId(store, to).catch(() => undefined);
    if (map) return map;
  }
  if (existsSync(join(store, 'runs.db'))) {
    const runs = new RunStore(store);
    try {
      const map1 = runs.get(runs.resolveId(to))?.result?.map1;
      if (typeof map1 === 'string') return map1;
    } catch { /* not a run: a transaction id */ } finally { runs.close(); }
  }
  return to;
}
