// The store's fixed layout (see the preamble): objects/<2 hex>/<62 hex>, maps/<mapId>.json, tmp/ for
// objects being written, stat-index/<mapId>.idx for incremental capture (not part of the map id; see
// stat-index-file.ts; stores of older versions hold <mapId>.json, still read).
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';

export const objectPath = (store: string, sha: string): string => join(store, 'objects', sha.slice(0, 2), sha.slice(2));
export const mapPath = (store: string, id: string): string => join(store, 'maps', `${id}.json`);
export const statIndexPath = (store: string, id: string): string => join(store, 'stat-index', `${id}.idx`);
export const legacyStatIndexPath = (store: string, id: string): string => join(store, 'stat-index', `${id}.json`);
export const tmpDir = (store: string): string => join(store, 'tmp');

export async function ensureStore(store: string): Promise<void> {
  for (const d of ['objects', 'maps', 'tmp', 'stat-index']) await mkdir(join(store, d), { recursive: true });
}
