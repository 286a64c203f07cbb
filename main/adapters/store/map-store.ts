// Maps on disk: STORE/maps/<id>.json holds the canonical manifest, id = sha256 of those bytes.
// Ids resolve by unique prefix. Writes are temp + fsync + rename so a map is whole or absent.
import { createHash } from 'node:crypto';
import { open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalParts, canonicalPieces, contentPieces } from '../../core/domain/map-canonical.ts';
import type { Manifest, MapInfo } from '../../core/domain/manifest.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { ensureStore, legacyStatIndexPath, mapPath, statIndexPath, tmpDir } from './store-paths.ts';
import { StatIndexFile } from './stat-index-file.ts';

/** Writes pieces to a temp file and fsyncs it; returns the temp path and the sha256 of the bytes. */
async function writeSynced(store: string, pieces: Iterable<string>): Promise<{ tmp: string; sha256: string }> {
  const tmp = join(tmpDir(store), `w-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
  const hash = createHash('sha256');
  const fh = await open(tmp, 'wx', 0o644);
  try {
    for (const piece of pieces) {
      const b = Buffer.from(piece, 'utf8');
      hash.update(b);
      await fh.write(b);
    }
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  return { tmp, sha256: hash.digest('hex') };
}

/** Renames a synced temp file into place and fsyncs the directory. */
async function place(tmp: string, path: string): Promise<void> {
  await rename(tmp, path);
  const dir = await open(path.slice(0, path.lastIndexOf('/')), 'r');
  try { await dir.sync(); } finally { await dir.close(); }
}

/** Writes pieces durably under `name(sha256 of the bytes)`; returns the sha256. */
async function writeDurably(store: string, pieces: Iterable<string>, name: (sha256: string) => string): Promise<string> {
  const { tmp, sha256 } = await writeSynced(store, pieces);
  await place(tmp, name(sha256));
  return sha256;
}

/** Saves the map under the sha256 of its canonical encoding, encoded and hashed piece by piece. */
export async function saveMap(store: string, m: Manifest): Promise<string> {
  await ensureStore(store);
  return writeDurably(store, canonicalPieces(m), (id) => mapPath(store, id));
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
  const hex = ref.toLowerCase(); // ids are shown lower-case; a pasted upper-case one is the same map
  if (!/^[0-9a-f]{1,64}$/.test(hex)) throw new UnderstudyError('map-not-found', `'${ref}' is not a map id (hex, a unique prefix is enough)`);
  const hits = (await listMapIds(store)).filter((id) => id.startsWith(hex));
  if (hits.length === 0) throw new UnderstudyError('map-not-found', `no map '${ref}' in store ${store}`);
  if (hits.length > 1) throw new UnderstudyError('usage', `map prefix '${ref}' is ambiguous: ${hits.map((h) => h.slice(0, 12)).join(', ')}`);
  return hits[0]!;
}

/** A map file's bytes, or why they cannot be trusted: their sha256 must be the id (a map may be truncated, edited, a directory). */
export async function readCheckedMap(store: string, id: string): Promise<{ bytes: Buffer } | { problem: string }> {
  let bytes: Buffer;
  try { bytes = await readFile(mapPath(store, id)); } catch (e) { return { problem: `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})` }; }
  if (createHash('sha256').update(bytes).digest('hex') !== id) return { problem: 'does not match its id (truncated or altered)' };
  return { bytes };
}

/**
 * The map's manifest, after the check that makes a map content-addressed (readCheckedMap). An altered,
 * truncated or unreadable map file is store-corrupt, never used (by restore, diff, the sandbox disk
 * build, a rehearsal's delta or a rollback).
 */
export async function loadMap(store: string, ref: string): Promise<{ id: string; manifest: Manifest }> {
  const id = await resolveMapId(store, ref);
  const read = await readCheckedMap(store, id);
  if ('problem' in read) throw new UnderstudyError('store-corrupt', `map ${id} ${read.problem}; run 'understudy verify'`);
  try {
    return { id, manifest: JSON.parse(read.bytes.toString('utf8')) as Manifest };
  } catch {
    throw new UnderstudyError('store-corrupt', `map ${id} is not valid JSON`);
  }
}

/**
 * The map's content id: the sha256 of its entries alone (map-canonical.ts contentPieces), so identical
 * trees have one content id whatever their host, target or capture time. The map id (the whole file's
 * hash) stays what maps are stored and verified by; the content id is what "the same tree" means.
 */
export function contentIdOf(m: Pick<Manifest, 'entries'>): string {
  const hash = createHash('sha256');
  for (const piece of contentPieces(m)) hash.update(piece, 'utf8');
  return hash.digest('hex');
}

export function mapInfo(id: string, m: Manifest): MapInfo {
  let files = 0, bytes = 0;
  for (const e of m.entries) if (e.type === 'file') { files++; bytes += e.size; }
  return { id, content: contentIdOf(m), target: m.target, host: m.host, capturedAt: m.capturedAt, files, bytes };
}

export async function listMaps(store: string): Promise<MapInfo[]> {
  const out: MapInfo[] = [];
  for (const id of await listMapIds(store)) {
    try { out.push(mapInfo(id, (await loadMap(store, id)).manifest)); } catch { /* verify reports it */ }
  }
  return out.sort((a, b) => a.capturedAt.localeCompare(b.capturedAt));
}

/**
 * Path -> stat facts (size, mtime, ctime, inode) that make incremental capture safe to skip reads; a local
 * capture appends what it reuses for an unchanged entry (capture/stat-index-value.ts).
 */
export type StatIndex = StatIndexFile;

const latestPath = (store: string, target: string) =>
  join(store, 'stat-index', `latest-${createHash('sha256').update(target).digest('hex')}`);

/** A record's [key, value] pairs, one at a time (Object.entries would copy them all at once). */
export function* recordPairs(o: Record<string, string>): Generator<[string, string]> {
  for (const k in o) yield [k, o[k]!];
}

/**
 * Saves the stat index of map `id` (given as [path, value] pairs, so a capture can make them as they are
 * written) and makes it the base of the target's next incremental capture.
 */
export async function saveStatIndex(store: string, id: string, target: string, index: Iterable<readonly [string, string]>): Promise<void> {
  await writeDurably(store, StatIndexFile.encode(index), () => statIndexPath(store, id));
  await writeDurably(store, [id], () => latestPath(store, target));
}

/**
 * saveMap + saveStatIndex, the two files written and synced at the same time (their disk waits overlap);
 * the map is in place before its index, and the index before it becomes the target's latest.
 */
export async function saveMapAndStatIndex(store: string, m: Manifest, target: string, index: Iterable<readonly [string, string]>): Promise<{ id: string; content: string }> {
  await ensureStore(store);
  const content = createHash('sha256');
  const written = await Promise.allSettled([writeSynced(store, hashingContent(m, content)), writeSynced(store, StatIndexFile.encode(index))]);
  const [map, idx] = written.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
  if (!map || !idx) {
    for (const w of [map, idx]) if (w) await rm(w.tmp, { force: true });
    throw (written.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason;
  }
  await place(map.tmp, mapPath(store, map.sha256));
  await place(idx.tmp, statIndexPath(store, map.sha256));
  await writeDurably(store, [map.sha256], () => latestPath(store, target));
  return { id: map.sha256, content: content.digest('hex') };
}

/** The canonical pieces, the entries' also fed to `content` (the content id, without encoding twice). */
function* hashingContent(m: Manifest, content: ReturnType<typeof createHash>): Generator<string> {
  const { head, body, tail } = canonicalParts(m);
  yield head;
  for (const piece of body) { content.update(piece, 'utf8'); yield piece; }
  yield tail;
}

export async function loadStatIndex(store: string, id: string): Promise<StatIndex | undefined> {
  try { return StatIndexFile.parse(await readFile(statIndexPath(store, id))); } catch { /* none, or an older store's */ }
  try {
    return StatIndexFile.fromPairs(recordPairs(JSON.parse(await readFile(legacyStatIndexPath(store, id), 'utf8')) as Record<string, string>));
  } catch { return undefined; }
}

/**
 * The target's latest map that has a stat index (the base for an incremental capture). A local capture
 * needs only the index (its values carry what is reused), so the manifest is loaded on request.
 */
export async function previousMap(store: string, target: string, withManifest = true): Promise<{ id: string; manifest?: Manifest; index: StatIndex } | undefined> {
  let id: string;
  try { id = (await readFile(latestPath(store, target), 'utf8')).trim(); } catch { return undefined; }
  const index = await loadStatIndex(store, id);
  if (!index) return undefined;
  if (!withManifest) return { id, index };
  try { return { id, manifest: (await loadMap(store, id)).manifest, index }; } catch { return undefined; }
}
