// Maps on disk: STORE/maps/<id>.json holds the canonical manifest, id = sha256 of those bytes.
// Ids resolve by unique prefix. Writes are temp + fsync + rename so a map is whole or absent.
import { createHash } from 'node:crypto';
import { open, readFile, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalManifest } from '../../core/domain/map-canonical.ts';
import type { Manifest, MapInfo } from '../../core/domain/manifest.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { ensureStore, mapPath, statIndexPath, tmpDir } from './store-paths.ts';

async function writeDurably(path: string, data: string, store: string): Promise<void> {
  const tmp = join(tmpDir(store), `w-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
  const fh = await open(tmp, 'wx', 0o644);
  try { await fh.writeFile(data); await fh.sync(); } finally { await fh.close(); }
  await rename(tmp, path);
  const dir = await open(path.slice(0, path.lastIndexOf('/')), 'r');
  try { await dir.sync(); } finally { await dir.close(); }
}

export async function saveMap(store: string, m: Manifest): Promise<string> {
  await ensureStore(store);
  const text = canonicalManifest(m);
  const id = createHash('sha256').update(text).digest('hex');
  await writeDurably(mapPath(store, id), text, store);
  return id;
}

export async function listMapIds(store: string): Promise<string[]> {
  try {
    return (await readdir(join(store, 'maps'))).filter((n) => /^[0-9a-f]{64}\.json$/.test(n)).map((n) => n.slice(0, 64));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export async function resolveMapId(store: string, ref: string): Promise<string> {
  if (!/^[0-9a-f]{1,64}$/.test(ref)) throw new UnderstudyError('map-not-found', `'${ref}' is not a map id (hex, a unique prefix is enough)`);
  const hits = (await listMapIds(store)).filter((id) => id.startsWith(ref));
  if (hits.length === 0) throw new UnderstudyError('map-not-found', `no map '${ref}' in store ${store}`);
  if (hits.length > 1) throw new UnderstudyError('usage', `map prefix '${ref}' is ambiguous: ${hits.map((h) => h.slice(0, 12)).join(', ')}`);
  return hits[0]!;
}

export async function loadMap(store: string, ref: string): Promise<{ id: string; manifest: Manifest }> {
  const id = await resolveMapId(store, ref);
  const text = await readFile(mapPath(store, id), 'utf8');
  try {
    return { id, manifest: JSON.parse(text) as Manifest };
  } catch {
    throw new UnderstudyError('store-corrupt', `map ${id} is not valid JSON`);
  }
}

export function mapInfo(id: string, m: Manifest): MapInfo {
  let files = 0, bytes = 0;
  for (const e of m.entries) if (e.type === 'file') { files++; bytes += e.size; }
  return { id, target: m.target, host: m.host, capturedAt: m.capturedAt, files, bytes };
}

export async function listMaps(store: string): Promise<MapInfo[]> {
  const out: MapInfo[] = [];
  for (const id of await listMapIds(store)) {
    try { out.push(mapInfo(id, (await loadMap(store, id)).manifest)); } catch { /* verify reports it */ }
  }
  return out.sort((a, b) => a.capturedAt.localeCompare(b.capturedAt));
}

/** Per-entry stat facts (size, mtime, ctime, inode) that make incremental capture safe to skip reads. */
export type StatIndex = Record<string, string>;

const latestPath = (store: string, target: string) =>
  join(store, 'stat-index', `latest-${createHash('sha256').update(target).digest('hex')}`);

/** Saves the stat index of map `id` and makes it the base of the target's next incremental capture. */
export async function saveStatIndex(store: string, id: string, target: string, index: StatIndex): Promise<void> {
  await writeDurably(statIndexPath(store, id), JSON.stringify(index), store);
  await writeDurably(latestPath(store, target), id, store);
}

export async function loadStatIndex(store: string, id: string): Promise<StatIndex | undefined> {
  try { return JSON.parse(await readFile(statIndexPath(store, id), 'utf8')) as StatIndex; } catch { return undefined; }
}

/** The target's latest map that has a stat index (the base for an incremental capture). */
export async function previousMap(store: string, target: string): Promise<{ id: string; manifest: Manifest; index: StatIndex } | undefined> {
  let id: string;
  try { id = (await readFile(latestPath(store, target), 'utf8')).trim(); } catch { return undefined; }
  const index = await loadStatIndex(store, id);
  if (!index) return undefined;
  try { return { id, manifest: (await loadMap(store, id)).manifest, index }; } catch { return undefined; }
}
