// The store's download cache: repository files that never change under their URL, kept as ordinary
// store objects (content-addressed, written and synced like a capture's) and indexed by URL in
// STORE/downloads/ (adapters/store/download-index.ts). Cached:
//   - files under a repository's pool/ (a package version's file never changes; apt checks it against the
//     signed indexes anyway, so a bad copy cannot be installed, only fail the download);
//   - index files fetched by hash (dists/.../by-hash/SHA256/<sha256>), kept only when the bytes hash to
//     that name.
// InRelease, Release and every other index are fetched fresh each time. https cannot be cached: it is a
// tunnel, understudy never sees its bytes (no TLS interception).
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { ObjectWriter, type ObjectSink } from '../store/object-writer.ts';
import { objectPath, tmpDir } from '../store/store-paths.ts';
import { downloadIndexPath as indexPath, type CacheEntry } from '../store/download-index.ts';

/** 'pool' | 'by-hash' when a URL names a file that never changes, else undefined (fetched fresh). */
export function cacheableKind(url: string): { kind: 'pool' } | { kind: 'by-hash'; sha256: string } | undefined {
  let path: string;
  try { path = new URL(url).pathname; } catch { return undefined; }
  const byHash = /\/by-hash\/SHA256\/([0-9a-f]{64})$/.exec(path);
  if (byHash) return { kind: 'by-hash', sha256: byHash[1]! };
  if (/(^|\/)pool\/.+[^/]$/.test(path) && !path.includes('/../')) return { kind: 'pool' };
  return undefined;
}

export class DownloadCache {
  private readonly writer: ObjectWriter;
  /** URLs served from the cache in this proxy's life: a second request for one goes upstream (see get). */
  private readonly servedOnce = new Set<string>();
  private readonly writing = new Set<Promise<unknown>>();

  constructor(readonly store: string) { this.writer = new ObjectWriter(store); }

  /**
   * The cached file for `url`, unless it was already served once by this proxy: apt asks again only when
   * something went wrong with it (a hash mismatch, because a repository rebuilt a file in place), so the
   * second request is answered fresh and replaces the entry.
   */
  async get(url: string): Promise<{ entry: CacheEntry; open(): Readable } | undefined> {
    if (this.servedOnce.has(url)) return undefined;
    let entry: CacheEntry;
    try { entry = JSON.parse(await readFile(indexPath(this.store, url), 'utf8')) as CacheEntry; } catch { return undefined; }
    if (entry.url !== url || !/^[0-9a-f]{64}$/.test(entry.sha256)) return undefined;
    const file = objectPath(this.store, entry.sha256);
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile() || st.size !== entry.size) return undefined; // object gone (or damaged): fetch again
    this.servedOnce.add(url);
    return { entry, open: () => createReadStream(file) };
  }

  /** A sink for a response body being fetched; `finish` keeps it (when complete and, for by-hash, right). */
  put(url: string): { write(chunk: Buffer): Promise<void>; finish(expectedSize?: number): Promise<CacheEntry | undefined>; abort(): Promise<void> } {
    let sink: ObjectSink | undefined;
    const ready = mkdir(tmpDir(this.store), { recursive: true }).then(() => { sink = this.writer.sink(); });
    let settle: () => void = () => undefined;
    this.track(new Promise<void>((r) => { settle = r; }));
    return {
      write: async (chunk) => { await ready; await sink!.write(chunk); },
      abort: async () => {
        try { await ready.catch(() => undefined); await sink?.abort(); } finally { settle(); }
      },
      finish: async (expectedSize) => {
        try { await ready; return await this.keep(url, sink!, expectedSize); } finally { settle(); }
      },
    };
  }

  private async keep(url: string, sink: ObjectSink, expectedSize: number | undefined): Promise<CacheEntry | undefined> {
    const kind = cacheableKind(url);
    const r = await sink.commit();
    if ((expectedSize !== undefined && r.size !== expectedSize) || (kind?.kind === 'by-hash' && kind.sha256 !== r.sha256)) return undefined;
    await this.writer.finish();
    const entry: CacheEntry = { url, sha256: r.sha256, size: r.size, at: new Date().toISOString() };
    const path = indexPath(this.store, url);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.${Math.random().toString(16).slice(2)}.tmp`;
    await writeFile(tmp, JSON.stringify(entry));
    await rename(tmp, path);
    this.servedOnce.add(url);
    return entry;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.writing.add(p);
    void p.finally(() => this.writing.delete(p)).catch(() => undefined);
    return p;
  }

  /** Waits for the downloads being kept to be in the store (the proxy's close waits for it). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.writing]);
  }
}
