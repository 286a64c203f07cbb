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
import { absPath, walkTree, type Found, type WalkScope } from './local-walk.ts';
import { startXattrBatch } from './xattr-reader.ts';
import { newReadBuffer, readFileInto, type StatLike } from './content-reader.ts';
import { readSparseFiles } from './tar-content.ts';
import { finishCapture, makeMeter, type CaptureOptions, type CaptureResult } from './capture-common.ts';

const READERS = 6;

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
  const found: Found[] = [];
  opts.onStage?.('walk');
  await walkTree(scope, (f) => { found.push(f); xattrs.add(f.rel); }, excluded, opts.signal);
  const xattrMap = await xattrs.done();

  const entries: Entry[] = [];
  const groups = new Map<string, Entry[]>();
  const foundOf = new Map<Entry, Found>();
  const toRead: Array<{ f: Found; e: Entry }> = [];
  const sparse: Array<{ f: Found; e: Entry }> = [];
  const statKey = (st: StatLike) => `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;
  const index: Record<string, string> = {};
  for (const f of found) {
    const e = entryFromStat(f.rel, f.st, f.link, xattrMap.get(f.rel.length ? './' + f.rel.toString('latin1') : '.'));
    if (!e) continue;
    entries.push(e);
    if (e.type !== 'file') continue;
    if (f.st.nlink > 1n) {
      const id = `${f.st.dev}:${f.st.ino}`;
      groups.set(id, [...(groups.get(id) ?? []), e]);
      foundOf.set(e, f);
    } else toRead.push({ f, e });
  }
  // A link group's content is read once, for its first path in key order (its 'file' entry).
  for (const g of groups.values()) {
    g.sort((a, b) => compareKeys(a.path, b.path));
    toRead.push({ f: foundOf.get(g[0]!)!, e: g[0]! });
  }
  // Incremental: reuse the previous map's hash when (path, size, mtime, ctime, inode) all match.
  const prevEntries = new Map(prev?.manifest.entries.filter((x) => x.type === 'file').map((x) => [x.path, x]));
  const pending: Array<{ f: Found; e: Entry }> = [];
  for (const item of toRead) {
    const old = prevEntries.get(item.e.path);
    if (old && prev!.index[item.e.path] === statKey(item.f.st) && old.sha256 && await writer.has(old.sha256)) {
      item.e.sha256 = old.sha256;
      item.e.size = old.size;
      if (old.sparse) item.e.sparse = old.sparse;
      index[item.e.path] = statKey(item.f.st);
    } else if (item.f.st.size > 0n && item.f.st.blocks * 512n < item.f.st.size) sparse.push(item);
    else pending.push(item);
  }
  const meter = makeMeter(opts, pending.reduce((n, x) => n + Number(x.f.st.size), 0) + sparse.length);
  const failed = new Set<Entry>();
  opts.onStage?.('content');
  const worker = async () => {
    const buf = newReadBuffer();
    for (let item = pending.shift(); item; item = pending.shift()) {
      opts.signal?.throwIfAborted();
      try {
        const r = await readFileInto(writer, absPath(root, item.f.rel), item.f.st, buf, meter.add);
        Object.assign(item.e, { sha256: r.sha256, size: r.size, mtimeNs: r.st.mtimeNs.toString() });
        meter.stored(r.stored);
        if (r.unstable) unstable.push(item.e.path);
        else index[item.e.path] = statKey(r.st);
      } catch (err) {
        failed.add(item.e);
        excluded.push({ path: item.e.path, reason: 'unreadable', detail: (err as Error).message });
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: READERS }, worker));
    const got = await readSparseFiles(writer, root, sparse.map((s) => s.f.rel), meter.add);
    for (const { f, e } of sparse) {
      const r = got.get(f.rel.toString('latin1'));
      if (!r) { failed.add(e); excluded.push({ path: e.path, reason: 'unreadable', detail: 'changed or vanished while read' }); continue; }
      Object.assign(e, { sha256: r.sha256, size: r.size, sparse: r.sparse ?? undefined });
      if (!r.sparse) delete e.sparse;
      meter.stored(r.stored);
      if (r.mtimeNs !== e.mtimeNs) unstable.push(e.path);
      else index[e.path] = statKey(f.st);
    }
    await writer.finish();
  } catch (err) {
    await writer.discardPending();
    throw err;
  }
  // An unreadable file drops out with its whole link group (they share the content we could not read).
  for (const g of groups.values()) if (g.some((x) => failed.has(x))) g.forEach((x) => failed.add(x));
  applyHardlinkGroups(groups);
  const manifest: Manifest = {
    version: 1, target: opts.target, host: opts.whole ? hostname() : root, capturedAt: new Date(started).toISOString(),
    entries: entries.filter((e) => !failed.has(e)), excluded, unstable,
    filesystems: [{ path: '', fstype: mountOf(scope.all, root)?.fstype ?? 'unknown' },
      ...[...scope.mounts].filter(([, m]) => m.cls === 'real').map(([p, m]) => ({ path: keyFromBytes(Buffer.from(p)), fstype: m.mount.fstype, device: m.mount.source }))],
  };
  return finishCapture(opts, manifest, index, meter, started);
}
