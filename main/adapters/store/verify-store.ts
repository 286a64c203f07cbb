// `verify`: re-hash every object a map (or every map) uses, and every map file against its id. Names
// each corrupt or missing object with every path, in every map, that uses it.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { displayKey } from '../../core/domain/path-key.ts';
import type { Manifest } from '../../core/domain/manifest.ts';
import { listMapIds, readCheckedMap, resolveMapId } from './map-store.ts';
import { objectPath } from './store-paths.ts';
import { listDownloads } from './download-index.ts';
import { batchJobs, runBatches } from './worker-pool.ts';

export interface CorruptObject { object: string; reason: 'mismatch' | 'missing' | 'bad-map'; paths: string[] }
export interface VerifyResult { ok: boolean; objects: number; bytes: number; maps: number; corrupt: CorruptObject[] }

async function storedObjects(store: string): Promise<string[]> {
  const out: string[] = [];
  let dirs: string[] = [];
  try { dirs = await readdir(join(store, 'objects')); } catch { return out; }
  for (const d of dirs.filter((x) => /^[0-9a-f]{2}$/.test(x))) {
    let names: string[];
    try { names = await readdir(join(store, 'objects', d)); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') continue; // its objects are reported missing by the maps using them
      throw e;
    }
    for (const f of names) if (/^[0-9a-f]{62}$/.test(f)) out.push(d + f);
  }
  return out;
}

export async function verifyStore(
  store: string,
  mapRef: string | undefined,
  onProgress?: (done: number, total: number) => void,
  /** The map `mapRef` names, already read through loadMap (its check done): not read and hashed again. */
  loaded?: { id: string; manifest: Manifest },
): Promise<VerifyResult> {
  const ids = mapRef ? [await resolveMapId(store, mapRef)] : await listMapIds(store);
  const users = new Map<string, string[]>(); // object -> "mapId:path" users
  const sizes = new Map<string, number>();
  const corrupt: CorruptObject[] = [];
  for (const id of ids) {
    let manifest: Manifest | undefined = loaded?.id === id ? loaded.manifest : undefined;
    if (!manifest) {
      const read = await readCheckedMap(store, id);
      try { manifest = 'bytes' in read ? JSON.parse(read.bytes.toString('utf8')) as Manifest : undefined; } catch { /* reported below */ }
    }
    if (!manifest || !Array.isArray(manifest.entries)) {
      corrupt.push({ object: `map:${id}`, reason: 'bad-map', paths: [] });
      continue;
    }
    // a hardlink uses its group's object too: restoring it gives the same corrupt bytes
    const objectOf = new Map<string, string>();
    for (const e of manifest.entries) if (e.type === 'file' && e.sha256) objectOf.set(e.path, e.sha256);
    for (const e of manifest.entries) {
      const sha = e.type === 'file' ? e.sha256 : e.type === 'hardlink' ? objectOf.get(e.linkTo ?? '') : undefined;
      if (!sha) continue;
      const list = users.get(sha) ?? [];
      list.push(ids.length > 1 ? `${id.slice(0, 12)}:/${displayKey(e.path)}` : `/${displayKey(e.path)}`);
      users.set(sha, list);
      if (e.type === 'file') sizes.set(sha, e.sparse ? e.sparse.reduce((n, [, l]) => n + l, 0) : e.size);
    }
  }
  // With no MAP: every stored object too, referenced or not, and the download cache's (named by URL).
  const toCheck = new Set(users.keys());
  if (!mapRef) {
    for (const o of await storedObjects(store)) toCheck.add(o);
    for (const d of await listDownloads(store)) {
      users.set(d.sha256, [...(users.get(d.sha256) ?? []), `download ${d.url}`]);
      sizes.set(d.sha256, d.size);
      toCheck.add(d.sha256);
    }
  }
  const total = [...toCheck].reduce((n, o) => n + (sizes.get(o) ?? 0), 0);
  let done = 0, bytes = 0;
  const objects = [...toCheck];
  const jobs = objects.map((o, id) => ({ id, path: objectPath(store, o) }));
  type Hashed = { id: number; sha256: string; size: number; error?: undefined } | { id: number; code?: string; error: string };
  // Worker threads hash on both cores with synchronous reads: per object an fs/promises open/read/close
  // cost more than hashing the small ones.
  await runBatches<{ id: number; path: string }, Hashed>({
    script: new URL('./hash-worker.mjs', import.meta.url),
    workers: 2,
    data: () => undefined,
    batches: batchJobs(jobs, (j) => sizes.get(objects[j.id]!) ?? 0, 64, 8 << 20),
    onResults: (results) => {
      for (const r of results) {
        const o = objects[r.id]!;
        if (r.error !== undefined) {
          // a directory (or a path through a non-directory) where the object file should be is no object either
          if (!['ENOENT', 'EISDIR', 'ENOTDIR'].includes(r.code ?? '')) throw new Error(`verify: reading object ${o}: ${r.error}`);
          corrupt.push({ object: o, reason: 'missing', paths: users.get(o) ?? [] });
          continue;
        }
        bytes += r.size;
        done += r.size;
        onProgress?.(done, Math.max(total, done)); // unreferenced objects have no size in any map
        if (r.sha256 !== o) corrupt.push({ object: o, reason: 'mismatch', paths: users.get(o) ?? [] });
      }
    },
  });
  corrupt.sort((a, b) => a.object.localeCompare(b.object));
  return { ok: corrupt.length === 0, objects: toCheck.size, bytes, maps: ids.length, corrupt };
}
