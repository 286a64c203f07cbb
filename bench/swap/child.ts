// One swap or rollback in a process of its own, as the CLI would run it (maps read from the store), so
// its peak RSS is the orchestrator's: `child.ts swap|rollback DIR STORE MAP1 MAP2` prints one JSON line.
import { openDirHost } from '../../main/adapters/swap/dir-host.ts';
import { swap } from '../../main/adapters/swap/swap.ts';
import { rollbackLatest } from '../../main/adapters/swap/rollback.ts';
import { loadMap } from '../../main/adapters/store/map-store.ts';

const [op, dir, store, id1, id2] = process.argv.slice(2) as [string, string, string, string, string];
const t0 = performance.now();
const host = await openDirHost(`dir:${dir}`);
const r = op === 'swap'
  ? await swap({ host, store, map1: await loadMap(store, id1), map2: await loadMap(store, id2) })
  : await rollbackLatest({ host, store });
const wall = (performance.now() - t0) / 1000;
const { health: _h, merged: _m, keptHost: _k, kept: _kept, ...stats } = r as Partial<{ health: unknown; merged: unknown; keptHost: unknown; kept: unknown }> & typeof r;
process.stdout.write(JSON.stringify({ ...stats,
  wall, maxRssMb: process.resourceUsage().maxRSS / 1024 }) + '\n');
