// A separate orchestrator process for fault tests: runs one swap or rollback on a dir: target so the
// test can kill -9 it (alone, or with its agent) at a random moment.
// usage: swap-child.ts swap|rollback DIR STORE MAP1 MAP2
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '../../../../main/core/domain/manifest.ts';
import { openDirHost } from '../../../../main/adapters/swap/dir-host.ts';
import { swap } from '../../../../main/adapters/swap/swap.ts';
import { rollbackLatest } from '../../../../main/adapters/swap/rollback.ts';

const [op, dir, store, id1, id2] = process.argv.slice(2) as [string, string, string, string, string];
const load = (id: string) => ({ id, manifest: JSON.parse(readFileSync(join(store, 'maps', `${id}.json`), 'utf8')) as Manifest });
const host = await openDirHost(`dir:${dir}`);
if (op === 'swap') await swap({ host, store, map1: load(id1), map2: load(id2) });
else await rollbackLatest({ host, store });
process.stdout.write('finished\n');
