// The download cache's index in the store: STORE/downloads/<2 hex>/<62 hex of sha256(URL)>.json, one
// { url, sha256, size, at } per cached URL; the bytes are ordinary objects (objects/...). Read by the
// repository proxy (adapters/proxy/download-cache.ts), `maps` (how big), `verify` (which URL an object
// serves) and `maps --clear-downloads`.
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface CacheEntry { url: string; sha256: string; size: number; at: string }

export const downloadsDir = (store: string): string => join(store, 'downloads');

export function downloadIndexPath(store: string, url: string): string {
  const h = createHash('sha256').update(url).digest('hex');
  return join(downloadsDir(store), h.slice(0, 2), `${h.slice(2)}.json`);
}

/** Every readable index entry (a damaged one is skipped: the URL is simply fetched again). */
export async function listDownloads(store: string): Promise<CacheEntry[]> {
  const out: CacheEntry[] = [];
  const root = downloadsDir(store);
  for (const d of await readdir(root).catch(() => [] as string[])) {
    for (const f of await readdir(join(root, d)).catch(() => [] as string[])) {
      if (!f.endsWith('.json')) continue;
      try {
        const e = JSON.parse(await readFile(join(root, d, f), 'utf8')) as CacheEntry;
        if (typeof e.url === 'string' && /^[0-9a-f]{64}$/.test(e.sha256) && Number.isInteger(e.size)) out.push(e);
      } catch { /* skipped */ }
    }
  }
  return out;
}

/** Forgets every cached download; returns the objects it named (the caller removes those no map uses). */
export async function dropDownloadIndex(store: string): Promise<CacheEntry[]> {
  const entries = await listDownloads(store);
  await rm(downloadsDir(store), { recursive: true, force: true });
  return entries;
}

/** Size of the download cache (objects it names, counted once). */
export async function downloadsSummary(store: string): Promise<{ files: number; bytes: number }> {
  const seen = new Map<string, number>();
  for (const e of await listDownloads(store)) seen.set(e.sha256, e.size);
  return { files: seen.size, bytes: [...seen.values()].reduce((a, b) => a + b, 0) };
}
