// Capture of a local tree (`dir:PATH`, or `local` = this machine's OS): walk, xattrs, content into the
// store (incremental against the target's previous map), manifest saved under its content hash.
import { readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Entry, Exclusion, Manifest } from '../../core/domain/manifest.ts';
import { HOST_VOLATILE_DIRS, mountOf, mountsUnder, parseMountInfo, type Mount } from '../../core/domain/map-scope.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { compareKeys, keyFromBytes } from '../../core/domain/path-key.ts';
import { ObjectWriter } from '../store/object-writer.ts';
import { ensureStore } from '../store/store-paths.ts';
import { applyHardlinkGroups, entryFromStat } from './entry-builder.ts';
import { absPath, latin1Of, relBytes, walkTree, type Found, type WalkScope } from './local-walk.ts';
import { startXattrBatch } from './xattr-reader.ts';
import { readContent, type ContentJob } from './content-workers.ts';
import { hasExtras, packIndexValue, reusable, unpackIndexValue } from './stat-index-value.ts';
import { readSparseFiles } from './tar-content.ts';
import { finishCapture, makeMeter, type CaptureOptions, type CaptureResult } from './capture-common.ts';
import type { StatIndex } from '../store/map-store.ts';
import { StatIndexFile } from '../store/stat-index-file.ts';

/** What incremental capture compares: (size, mtime, ctime, inode); the path is the index key. */
const statKey = (st: { size: number; mtimeNs: string; ctimeNs: string; ino: string }) => `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;

async function buildScope(root: string, whole: boolean, store: string, excludes: string[]): Promise<WalkScope & { all: Mount[] }> {
  const all = parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8').catch(() => ''));
  const mounts = mountsUnder(all, root);
  let storeId: string | undefined;
  try { const s = await stat(store, { bigint: true }); storeId = `${s.dev}:${s.ino}`; } catch { /* not created yet */ }
  const skipContents = new Map<string, Exclusion['reason']>(whole ? Object.entries(HOST_VOLATILE_DIRS) : []);
  const operatorExcludes = new Set(excludes.map((x) => Buffer.from(x.replace(/^\/+|\/+$/g, '')).toString('latin1')));
  return { root, mounts, storeId, skipContents, operatorExcludes, all };
}

export async function captureLocal(opts: CaptureOptions & { root: string; whole: boolean }): Promise<CaptureResult> {
  const started = Date.now();
  const root = resolve(opts.root);
  const rootSt = await stat(root).catch(() => undefined);
  if (!rootSt?.isDirectory()) throw new UnderstudyError('bad-target', `${opts.target}: ${root} is not a directory`);
  await ensureStore(opts.store);
  const writer = new ObjectWriter(opts.store);
  const prev = opts.previous;
  await writer.preloadKnown();
  const excluded: Exclusion[] = [];
  const unstable: string[] = [];
  const scope = await buildScope(root, opts.whole, opts.store, opts.excludes ?? []);
  const xattrs = startXattrBatch(root);
  let prevIndex: StatIndex | undefined = prev?.index;
  if (prev) prev.index = StatIndexFile.EMPTY; // held here only through the walk: let it go before content and manifest take memory
  // Per entry, compact and parallel to `entries` (no per-file objects or path Buffers: ~140k entries stay
  // alive through the capture): the stat index value it will get (a bare stat key, or the previous map's
  // whole value when the entry is reused unchanged), undefined = not indexed.
  const entries: Entry[] = [];
  const indexVals: Array<string | undefined> = [];
  /** Positions of files whose content is to be read, and of sparse ones (read through tar). */
  const pendingAt: number[] = [];
  const sparseAt: number[] = [];
  /** Hardlink groups (dev:ino) -> member positions with what each could reuse; resolved after the walk. */
  const groups = new Map<string, Array<{ at: number; reuse?: string; sparse: boolean }>>();
  const askXattrs: number[] = [];
  opts.onStage?.('walk');
  try {
    const onEntry = (f: Found) => {
      const e = entryFromStat(f.key, f.st, f.link);
      if (!e) return;
      const at = entries.push(e) - 1;
      const key = statKey(f.st);
      // Unchanged (path, size, mtime, ctime, inode): so are the xattrs (setting one moves ctime) and the
      // content; only new or changed entries are asked for their xattrs.
      const reuse = reusable(prevIndex?.get(e.path), key);
      if (reuse) { if (hasExtras(reuse)) { const x = unpackIndexValue(reuse).xattrs; if (x) e.xattrs = x; } } else { askXattrs.push(at); xattrs.add(Buffer.from(f.rel, 'latin1')); }
      if (e.type !== 'file') { indexVals.push(reuse ?? key); return; }
      const { st } = f;
      const sparse = st.size > 0 && st.blocks * 512 < st.size;
      if (st.nlink > 1) {
        indexVals.push(key);
        const id = `${st.dev}:${st.ino}`;
        const g = groups.get(id);
        if (g) g.push({ at, reuse, sparse }); else groups.set(id, [{ at, reuse, sparse }]);
      } else if (reuseContent(at, reuse)) indexVals.push(reuse);
      else { indexVals.push(key); (sparse ? sparseAt : pendingAt).push(at); }
    };
    await walkTree(scope, onEntry, excluded, opts.signal);
  } catch (err) {
    xattrs.abort();
    throw err;
  }
  prevIndex = undefined;
  const xattrMap = await xattrs.done();
  for (const at of askXattrs) {
    const e = entries[at]!;
    const x = xattrMap.get(e.path === '' ? '.' : './' + latin1Of(e.path));
    if (x && Object.keys(x).length) e.xattrs = x;
  }
  askXattrs.length = 0;

  /**
   * Incremental: the previous hash is reused when (path, size, mtime, ctime, inode) all match and the
   * store still has the object; the entry then keeps the previous index value whole.
   */
  function reuseContent(at: number, reuse: string | undefined): reuse is string {
    const old = reuse === undefined ? undefined : unpackIndexValue(reuse);
    if (!old?.sha256 || !writer.knows(old.sha256)) return false;
    const e = entries[at]!;
    e.sha256 = old.sha256;
    if (old.sparse) e.sparse = old.sparse;
    return true;
  }
  // A link group's content is read once, for its first path in key order (its 'file' entry); the other
  // members get no index value (never read, so nothing to reuse).
  const byKey = (a: { at: number }, b: { at: number }) => compareKeys(entries[a.at]!.path, entries[b.at]!.path);
  for (const g of groups.values()) {
    g.sort(byKey);
    const first = g[0]!;
    for (const m of g.slice(1)) indexVals[m.at] = undefined;
    if (reuseContent(first.at, first.reuse)) indexVals[first.at] = first.reuse;
    else (first.sparse ? sparseAt : pendingAt).push(first.at);
  }
  const meter = makeMeter(opts, pendingAt.reduce((n, at) => n + entries[at]!.size, 0) + sparseAt.length);
  const failed = new Set<Entry>();
  opts.onStage?.('content');
  function* jobs(): Generator<ContentJob> {
    for (let id = 0; id < pendingAt.length; id++) {
      const e = entries[pendingAt[id]!]!, key = indexVals[pendingAt[id]!]!;
      yield { id, path: absPath(root, relBytes(e.path)), size: e.size, key, ino: key.slice(key.lastIndexOf(':') + 1) };
    }
  }
  try {
    await readContent(writer, jobs(), (r, stored) => {
      const at = pendingAt[r.id]!, e = entries[at]!;
      indexVals[at] = undefined;
      if (r.error !== undefined) {
        failed.add(e);
        excluded.push({ path: e.path, reason: 'unreadable', detail: r.error });
        return;
      }
      Object.assign(e, { sha256: r.sha256, size: r.size, mtimeNs: r.mtimeNs });
      meter.add(r.bytesRead);
      meter.stored(stored ? r.size : 0);
      if (r.unstable) unstable.push(e.path);
      else indexVals[at] = r.key;
    }, opts.signal);
    const got = await readSparseFiles(writer, root, sparseAt.map((at) => relBytes(entries[at]!.path)), meter.add);
    for (const at of sparseAt) {
      const e = entries[at]!;
      const r = got.get(latin1Of(e.path));
      if (!r) { indexVals[at] = undefined; failed.add(e); excluded.push({ path: e.path, reason: 'unreadable', detail: 'changed or vanished while read' }); continue; }
      Object.assign(e, { sha256: r.sha256, size: r.size, sparse: r.sparse ?? undefined });
      if (!r.sparse) delete e.sparse;
      meter.stored(r.stored);
      if (r.mtimeNs !== e.mtimeNs) { indexVals[at] = undefined; unstable.push(e.path); }
    }
    await writer.finish();
  } catch (err) {
    await writer.discardPending();
    throw err;
  }
  // An unreadable file drops out with its whole link group (they share the content we could not read).
  const members = [...groups.values()].map((g) => g.map((m) => entries[m.at]!));
  for (const g of members) if (g.some((x) => failed.has(x))) g.forEach((x) => failed.add(x));
  applyHardlinkGroups(new Map(members.map((g, i) => [String(i), g])));
  pendingAt.length = sparseAt.length = 0;
  groups.clear();
  const kept = failed.size ? entries.filter((e) => !failed.has(e)) : entries;
  /** The stat index, made entry by entry as it is written (never a second whole-tree object). */
  function* indexPairs(): Generator<[string, string]> {
    for (let at = 0; at < entries.length; at++) {
      const v = indexVals[at], e = entries[at]!;
      if (v === undefined || failed.has(e)) continue;
      yield [e.path, v.includes('\t') ? v : packIndexValue(v, e)];
    }
  }
  const manifest: Manifest = {
    version: 1, target: opts.target, host: opts.whole ? hostname() : root, capturedAt: new Date(started).toISOString(),
    entries: kept, excluded, unstable,
    filesystems: [{ path: '', fstype: mountOf(scope.all, root)?.fstype ?? 'unknown' },
      ...[...scope.mounts].filter(([, m]) => m.cls === 'real').map(([p, m]) => ({ path: keyFromBytes(Buffer.from(p)), fstype: m.mount.fstype, device: m.mount.source }))],
  };
  return finishCapture(opts, manifest, indexPairs(), meter, started);
}
