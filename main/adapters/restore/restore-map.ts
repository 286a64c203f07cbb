// `restore MAP DIR`: materializes a map byte- and metadata-exact into an empty directory. The map is
// untrusted data: every path key is validated (no '..', no absolute, no empty component, parent must be
// a directory of the map), directories are created before anything else and symlinks after every other node, files are
// created O_EXCL (never through a symlink), so nothing can be written outside DIR.
import { constants } from 'node:fs';
import { chmod, copyFile, lchown, link, lstat, lutimes, mkdir, open, readdir, stat, statfs, symlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Entry } from '../../core/domain/manifest.ts';
import { validateManifest } from '../../core/domain/map-validate.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { bytesFromKey, compareKeys, displayKey } from '../../core/domain/path-key.ts';
import { verifyStore } from '../store/verify-store.ts';
import { loadMap } from '../store/map-store.ts';
import { objectPath } from '../store/store-paths.ts';
import { applyXattrs, clearXattrs, makeSpecialNodes, touchExact } from './restore-tools.ts';

export interface RestoreResult { map: string; dir: string; entries: number; files: number; bytes: number; seconds: number; warnings: string[] }

const abs = (dir: string, key: string): Buffer => (key === '' ? Buffer.from(dir) : Buffer.concat([Buffer.from(dir + '/'), Buffer.from(bytesFromKey(key))]));

/** Refuses anything but a missing or empty directory; returns whether it must be created. */
async function checkDestination(dir: string): Promise<boolean> {
  const st = await lstat(dir).catch(() => undefined);
  if (!st) {
    const parent = await stat(dirname(dir)).catch(() => undefined);
    if (!parent?.isDirectory()) throw new UnderstudyError('usage', `restore destination's parent ${dirname(dir)} is not an existing directory`);
    return true;
  }
  if (st.isSymbolicLink()) throw new UnderstudyError('usage', `restore destination ${dir} is a symlink; give the directory itself`);
  if (!st.isDirectory()) throw new UnderstudyError('usage', `restore destination ${dir} is not a directory`);
  if ((await readdir(dir)).length > 0) throw new UnderstudyError('usage', `restore destination ${dir} is not empty; restore only writes into an empty directory`);
  return false;
}

/** Restore works by whole paths: one past Linux's PATH_MAX under DIR would fail halfway, so it is refused first. */
function checkPathLengths(dir: string, entries: Entry[]): void {
  const base = Buffer.byteLength(dir) + 1;
  let longest: Entry | undefined, len = 0;
  for (const e of entries) {
    const n = bytesFromKey(e.path).length;
    if (n > len) { len = n; longest = e; }
  }
  if (longest && base + len >= 4096) {
    throw new UnderstudyError('usage', `/${displayKey(longest.path).slice(0, 60)}... is ${len} bytes long: under ${dir} that passes the 4095-byte path limit; restore into a shorter DIR`);
  }
}

/** Refuses up front when DIR's filesystem cannot hold the content (holes take no space), instead of an ENOSPC halfway. */
async function checkSpace(onFs: string, files: Entry[]): Promise<void> {
  const need = files.reduce((n, e) => n + (e.sparse ? e.sparse.reduce((m, [, len]) => m + len, 0) : e.size), 0);
  const fs = await statfs(onFs).catch(() => undefined);
  if (!fs) return;
  const free = fs.bavail * fs.bsize;
  if (need > free) throw new UnderstudyError('no-space', `restore needs ${(need / 1e6).toFixed(1)} MB of content; ${onFs} has ${(free / 1e6).toFixed(1)} MB free`);
}

/** Writes one file entry's content from the store to `dest` (created exclusively; sparse stays sparse). */
export async function writeEntryContent(store: string, e: Entry, dest: Buffer | string): Promise<void> {
  const src = objectPath(store, e.sha256!);
  if (!e.sparse) { await copyFile(src, dest, constants.COPYFILE_EXCL); return; }
  const [inp, out] = [await open(src, 'r'), await open(dest, 'wx', 0o600)];
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let pos = 0;
    for (const [off, len] of e.sparse) {
      for (let done = 0; done < len;) {
        const { bytesRead } = await inp.read(buf, 0, Math.min(buf.length, len - done), pos);
        if (bytesRead === 0) throw new UnderstudyError('store-corrupt', `object ${e.sha256} is shorter than its sparse extents`);
        await out.write(buf.subarray(0, bytesRead), 0, bytesRead, off + done);
        done += bytesRead; pos += bytesRead;
      }
    }
    await out.truncate(e.size);
  } finally { await inp.close(); await out.close(); }
}

/** Runs fn over items, at most `limit` at a time (one syscall each is mostly waiting). */
async function eachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

async function ownAndMode(dir: string, e: Entry, warnings: string[], deferred?: Entry[]): Promise<void> {
  const p = abs(dir, e.path);
  try { await lchown(p, e.uid, e.gid); } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    if (warnings.length < 20) warnings.push(`owner of /${displayKey(e.path)} not set (needs root)`);
  }
  if (e.type === 'symlink') return;
  // Without root, a directory whose owner may not search it (mode 0600, 0000) would shut out everything
  // still to be done below it: it keeps u+x until the very end (chmod moves no mtime).
  const shut = e.type === 'dir' && (e.mode & 0o100) === 0 && process.getuid?.() !== 0;
  await chmod(p, shut ? e.mode | 0o100 : e.mode);
  if (shut) deferred?.push(e);
}

export async function restoreMap(store: string, mapRef: string, destination: string,
  onProgress?: (done: number, total: number) => void, onVerifyProgress?: (done: number, total: number) => void): Promise<RestoreResult> {
  return restoreInto(store, mapRef, destination, onProgress, onVerifyProgress).catch((err: NodeJS.ErrnoException) => {
    // inodes or quota can still run out after the up-front space check
    if (err.code === 'ENOSPC' || err.code === 'EDQUOT') throw new UnderstudyError('no-space', `restore ran out of space in ${resolve(destination)}: ${err.message}`);
    throw err;
  });
}

async function restoreInto(store: string, mapRef: string, destination: string,
  onProgress?: (done: number, total: number) => void, onVerifyProgress?: (done: number, total: number) => void): Promise<RestoreResult> {
  const started = Date.now();
  const dir = resolve(destination);
  const create = await checkDestination(dir);
  const { id, manifest } = await loadMap(store, mapRef);
  validateManifest(manifest);
  checkPathLengths(dir, manifest.entries);
  let entries = [...manifest.entries].sort((a, b) => compareKeys(a.path, b.path));
  const files = entries.filter((e) => e.type === 'file');
  await eachLimit(files, 16, async (e) => {
    const st = await lstat(objectPath(store, e.sha256!)).catch(() => undefined);
    if (!st?.isFile()) throw new UnderstudyError('store-corrupt', `object ${e.sha256} of /${displayKey(e.path)} is missing from the store; run 'understudy verify'`);
    // a cheap check before anything is written (content is re-hashed by verify, not here)
    const stored = e.sparse ? e.sparse.reduce((n, [, len]) => n + len, 0) : e.size;
    if (st.size !== stored) throw new UnderstudyError('store-corrupt', `object ${e.sha256} of /${displayKey(e.path)} has ${st.size} bytes, the map says ${stored}; run 'understudy verify'`);
  });
  await checkSpace(create ? dirname(dir) : dir, files);
  // Content is re-hashed before anything is written: a flipped byte in the store must not come out as
  // a silently different file (copying stays a kernel copy; this read is the price, ~1/6 of a restore).
  const check = await verifyStore(store, id, onVerifyProgress, { id, manifest });
  if (!check.ok) {
    const first = check.corrupt[0]!;
    throw new UnderstudyError('store-corrupt', `${check.corrupt.length} object(s) of map ${id.slice(0, 12)} are corrupt or missing, e.g. ${first.object} (${first.reason}) used by ${first.paths.slice(0, 3).join(', ')}; nothing restored; run 'understudy verify'`,
      { corrupt: check.corrupt });
  }
  const warnings: string[] = [];
  if (create) await mkdir(dir, { mode: 0o700 });
  else await clearXattrs(dir).catch((err: Error) => {
    if (process.getuid?.() === 0) throw err;
    warnings.push(`xattrs of ${dir} not cleared: ${err.message.split('\n')[0]}`);
  });
  const of = (t: Entry['type']) => entries.filter((e) => e.type === t);
  for (const e of of('dir')) if (e.path !== '') await mkdir(abs(dir, e.path), { mode: 0o700 });
  const total = files.reduce((n, e) => n + e.size, 0);
  let done = 0;
  await eachLimit(files, 4, async (e) => {
    await writeEntryContent(store, e, abs(dir, e.path));
    done += e.size; onProgress?.(done, total);
  });
  for (const e of of('hardlink')) await link(abs(dir, e.linkTo!), abs(dir, e.path));
  const missing = new Set(await makeSpecialNodes(dir, entries.filter((x) => x.type === 'fifo' || x.type === 'chardev' || x.type === 'blockdev')));
  for (const e of missing) {
    if (e.type === 'fifo' || process.getuid?.() === 0) throw new UnderstudyError('io', `could not create ${e.type} /${displayKey(e.path)}`);
    warnings.push(`${e.type} /${displayKey(e.path)} not created (needs root)`);
  }
  if (missing.size) entries = entries.filter((e) => !missing.has(e));
  // Symlinks before any mode is set: an unprivileged restore could not add one to a read-only dir
  // afterwards. Nothing below follows them: validateManifest makes every parent a real directory of the
  // map and every path unique, lchown/lutimes/setfattr -h/touch -h act on the link itself, and chmod
  // only on paths that are not symlinks.
  for (const e of of('symlink')) await symlink(Buffer.from(bytesFromKey(e.target!)), abs(dir, e.path));
  const owned = entries.filter((e) => e.type !== 'hardlink');
  const shutDirs: Entry[] = [];
  await eachLimit(owned, 16, (e) => ownAndMode(dir, e, warnings, shutDirs));
  await applyXattrs(dir, owned).catch((err: Error) => {
    // without root, security.* xattrs (file capabilities) and ACLs naming others cannot all be set
    if (process.getuid?.() === 0) throw err;
    warnings.push(`some xattrs not set (needs root): ${err.message.split('\n')[0]}`);
  });
  // Times last: nothing after this adds or removes a name, so no directory's mtime moves again.
  const inexact: Entry[] = [];
  await eachLimit(entries.filter((e) => e.type !== 'hardlink'), 16, async (e) => {
    const s = Number(BigInt(e.mtimeNs) / 1000n) / 1e6;
    await lutimes(abs(dir, e.path), s, s);
    if ((await lstat(abs(dir, e.path), { bigint: true })).mtimeNs !== BigInt(e.mtimeNs)) inexact.push(e);
  });
  await touchExact(dir, inexact);
  for (const e of shutDirs.sort((a, b) => compareKeys(b.path, a.path))) await chmod(abs(dir, e.path), e.mode); // deepest first
  return { map: id, dir, entries: entries.length, files: files.length, bytes: total, seconds: (Date.now() - started) / 1000, warnings };
}

