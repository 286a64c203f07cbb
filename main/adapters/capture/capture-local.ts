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
import { absPath, walkTree, type WalkScope } from './local-walk.ts';
import { startXattrBatch } from './xattr-reader.ts';
import { readContent, type ContentJob } from './content-workers.ts';
import { hasExtras, packIndexValue, reusable, unpackIndexValue } from './stat-index-value.ts';
import { readSparseFiles } from './tar-content.ts';
import { finishCapture, makeMeter, type CaptureOptions, type CaptureResult } from './capture-common.ts';

/** What incremental capture compares: (size, mtime, ctime, inode); the path is the index key. */
const statKey = (st: { size: bigint; mtimeNs: bigint; ctimeNs: bigint; ino: bigint }) => `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;

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
  const prevIndex = prev?.index ?? {};
  const index: Record<string, string> = {};
  const entries: Entry[] = [];
  // A file's walk facts, compact (no BigInts: ~100k of these stay alive through the capture).
  type FileItem = { e: Entry; rel: Buffer; key: string; ino: string; size: number; sparse: boolean; group?: string; reuse?: string };
  const files: FileItem[] = [];
  const askXattrs: Array<{ rel: Buffer; e: Entry }> = [];
  opts.onStage?.('walk');
  try {
    await walkTree(scope, (f) => {
      const e = entryFromStat(f.rel, f.st, f.link);
      if (!e) return;
      entries.push(e);
      const key = statKey(f.st);
      // Unchanged (path, size, mtime, ctime, inode): so are the xattrs (setting one moves ctime) and the
      // content; only new or changed entries are asked for their xattrs.
      const reuse = reusable(prevIndex[e.path], key);
      if (reuse) { if (hasExtras(reuse)) { const x = unpackIndexValue(reuse).xattrs; if (x) e.xattrs = x; } } else { askXattrs.push({ rel: f.rel, e }); xattrs.add(f.rel); }
      if (e.type === 'file') {
        const { st } = f;
        files.push({ e, rel: f.rel, key, ino: st.ino.toString(), size: Number(st.size), sparse: st.size > 0n && st.blocks * 512n < st.size,
          group: st.nlink > 1n ? `${st.dev}:${st.ino}` : undefined, reuse });
      }
      else index[e.path] = key;
    }, excluded, opts.signal);
  } catch (err) {
    xattrs.abort();
    throw err;
  }
  if (prev) prev.index = {}; // read once: let it go before the content and the manifest take memory
  const xattrMap = await xattrs.done();
  for (const { rel, e } of askXattrs) {
    const x = xattrMap.get(rel.length ? './' + rel.toString('latin1') : '.');
    if (x && Object.keys(x).length) e.xattrs = x;
  }
  askXattrs.length = 0;

  const groups = new Map<string, Entry[]>();
  const itemOf = new Map<Entry, FileItem>();
  const toRead: FileItem[] = [];
  const sparse: FileItem[] = [];
  for (const item of files) {
    if (item.group) {
      const g = groups.get(item.group);
      if (g) g.push(item.e); else groups.set(item.group, [item.e]);
      itemOf.set(item.e, item);
    } else toRead.push(item);
  }
  // A link group's content is read once, for its first path in key order (its 'file' entry).
  for (const g of groups.values()) {
    g.sort((a, b) => compareKeys(a.path, b.path));
    toRead.push(itemOf.get(g[0]!)!);
  }
  itemOf.clear();
  // Incremental: reuse the previous hash when (path, size, mtime, ctime, inode) all match.
  const pending: FileItem[] = [];
  for (const item of toRead) {
    const old = item.reuse === undefined ? undefined : unpackIndexValue(item.reuse);
    if (old?.sha256 && writer.knows(old.sha256)) {
      item.e.sha256 = old.sha256;
      if (old.sparse) item.e.sparse = old.sparse;
      index[item.e.path] = old.key;
    } else if (item.sparse) sparse.push(item);
    else pending.push(item);
  }
  const meter = makeMeter(opts, pending.reduce((n, x) => n + x.size, 0) + sparse.length);
  const failed = new Set<Entry>();
  opts.onStage?.('content');
  function* jobs(): Generator<ContentJob> {
    for (let id = 0; id < pending.length; id++) {
      const it = pending[id]!;
      yield { id, path: absPath(root, it.rel), size: it.size, key: it.key, ino: it.ino };
    }
  }
  try {
    await readContent(writer, jobs(), (r, stored) => {
      const e = pending[r.id]!.e;
      if (r.error !== undefined) {
        failed.add(e);
        excluded.push({ path: e.path, reason: 'unreadable', detail: r.error });
        return;
      }
      Object.assign(e, { sha256: r.sha256, size: r.size, mtimeNs: r.mtimeNs });
      meter.add(r.bytesRead);
      meter.stored(stored ? r.size : 0);
      if (r.unstable) unstable.push(e.path);
      else index[e.path] = r.key;
    }, opts.signal);
    const got = await readSparseFiles(writer, root, sparse.map((s) => s.rel), meter.add);
    for (const { rel, key, e } of sparse) {
      const r = got.get(rel.toString('latin1'));
      if (!r) { failed.add(e); excluded.push({ path: e.path, reason: 'unreadable', detail: 'changed or vanished while read' }); continue; }
      Object.assign(e, { sha256: r.sha256, size: r.size, sparse: r.sparse ?? undefined });
      if (!r.sparse) delete e.sparse;
      meter.stored(r.stored);
      if (r.mtimeNs !== e.mtimeNs) unstable.push(e.path);
      else index[e.path] = key;
    }
    await writer.finish();
  } catch (err) {
    await writer.discardPending();
    throw err;
  }
  // An unreadable file drops out with its whole link group (they share the content we could not read).
  for (const g of groups.values()) if (g.some((x) => failed.has(x))) g.forEach((x) => failed.add(x));
  applyHardlinkGroups(groups);
  // the walk's records are done with: let them go before the manifest is encoded
  files.length = toRead.length = pending.length = sparse.length = 0;
  groups.clear();
  const kept = entries.filter((e) => !failed.has(e));
  entries.length = 0;
  for (const e of failed) delete index[e.path];
  for (const e of kept) { const k = index[e.path]; if (k !== undefined) index[e.path] = packIndexValue(k, e); }
  const manifest: Manifest = {
    version: 1, target: opts.target, host: opts.whole ? hostname() : root, capturedAt: new Date(started).toISOString(),
    entries: kept, excluded, unstable,
    filesystems: [{ path: '', fstype: mountOf(scope.all, root)?.fstype ?? 'unknown' },
      ...[...scope.mounts].filter(([, m]) => m.cls === 'real').map(([p, m]) => ({ path: keyFromBytes(Buffer.from(p)), fstype: m.mount.fstype, device: m.mount.source }))],
  };
  return finishCapture(opts, manifest, index, meter, started);
}
