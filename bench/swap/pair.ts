// A cached map pair for a swap bench case: both trees captured (dir:) into CASE/store once; the map ids
// are kept in CASE/maps.json. The capture is the product's own (what a real run stores).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { capture } from '../../main/adapters/capture/capture.ts';

export interface Pair { store: string; t1: string; t2: string; map1: string; map2: string }

export async function capturedPair(dir: string, t1: string, t2: string): Promise<Pair> {
  const store = join(dir, 'store'), file = join(dir, 'maps.json');
  if (!existsSync(file)) {
    const t0 = performance.now();
    const map1 = (await capture({ store, target: `dir:${t1}`, full: true })).map;
    const map2 = (await capture({ store, target: `dir:${t2}`, full: true })).map;
    writeFileSync(`${file}.tmp`, JSON.stringify({ map1, map2 }));
    renameSync(`${file}.tmp`, file);
    console.log(`  captured both trees into ${store} in ${((performance.now() - t0) / 1000).toFixed(1)} s (once)`);
  }
  const { map1, map2 } = JSON.parse(readFileSync(file, 'utf8')) as { map1: string; map2: string };
  return { store, t1, t2, map1, map2 };
}
