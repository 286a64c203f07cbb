// Walks a local tree without following symlinks: lstat (bigint: ns times, inode, dev) of every entry,
// raw-byte names (readdir 'buffer' encoding: invalid UTF-8 survives), scope decisions at mount points.
import { UnderstudyError } from '../../core/domain/errors.ts';
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import type { EntryType, Exclusion } from '../../core/domain/manifest.ts';
import { typeOf } from './entry-builder.ts';
import type { FsClass, Mount } from '../../core/domain/map-scope.ts';
import { bytesFromKey, keyFromBytes } from '../../core/domain/path-key.ts';

/**
 * The stat facts a capture uses per entry, as numbers and decimal strings (what the stat key and the map
 * record): no BigInts kept per entry.
 */
export interface Meta {
  kind: EntryType | undefined;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** 512-byte blocks allocated (sparse detection). */
  blocks: number;
  nlink: number;
  dev: string;
  ino: string;
  /** Device number of a char/block device (0n otherwise). */
  rdev: bigint;
  mtimeNs: string;
  ctimeNs: string;
}

export function metaOf(st: BigIntStats): Meta {
  const kind = typeOf(st);
  return { kind, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), size: Number(st.size), blocks: Number(st.blocks),
    nlink: Number(st.nlink), dev: String(st.dev), ino: String(st.ino), rdev: kind === 'chardev' || kind === 'blockdev' ? st.rdev : 0n,
    mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) };
}

export interface Found {
  /** Path bytes relative to the root, as a latin1 string (one char per byte); '' = the root. */
  rel: string;
  /** Its path key (keyFromBytes of those bytes). */
  key: string;
  st: Meta;
  /** Symlink target bytes. */
  link?: Buffer;
}

export interface WalkScope {
  root: string;
  /** Relative path (latin1 key of raw bytes) -> why its contents are skipped. */
  skipContents: Map<string, Exclusion['reason']>;
  /** Mounts under root by relative path (utf8), from mountinfo. */
  mounts: Map<string, { mount: Mount; cls: FsClass | 'other-fs' }>;
  /** dev:ino of the store directory, when it is inside the tree. */
  storeId?: string;
  /** Relative paths (latin1 of raw bytes) excluded by the operator (with everything below). */
  operatorExcludes: Set<string>;
}

const SLASH = Buffer.from('/');

export function absPath(root: string, rel: Buffer): Buffer {
  if (rel.length === 0) return Buffer.from(root);
  return Buffer.concat([Buffer.from(root === '/' ? '' : root), SLASH, rel]);
}

/** A path key's raw bytes (no copy of the decoded bytes). */
export function relBytes(key: string): Buffer {
  const b = bytesFromKey(key);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** A path key's raw bytes as a latin1 string (how the xattr and sparse readers key their results). */
export const latin1Of = (key: string): string => (/^[\x00-\x7f]*$/.test(key) && !key.startsWith('b64:') ? key : relBytes(key).toString('latin1'));

const ASCII = /^[\x00-\x7f]*$/;
const B64 = 'b64:';

/** keyFromBytes of latin1-string bytes, without a strict UTF-8 decode for the common plain-ASCII name. */
export const keyOfLatin1 = (rel: string, ascii = ASCII.test(rel)): string =>
  ascii && !rel.startsWith(B64) ? rel : keyFromBytes(Buffer.from(rel, 'latin1'));

/**
 * Walks the tree depth-first; calls `onEntry` for every kept entry, records exclusions. Synchronous fs
 * calls on purpose: metadata comes from the dentry/inode cache, and a thread-pool hop per lstat cost
 * ~20x more here (the walk is metadata-only; content reads stay async). Names are read as latin1
 * strings, not Buffers (a Buffer per name cost more than the readdir itself, and GC time); a path
 * goes to a syscall as a string while it is ASCII, as bytes otherwise.
 */
export async function walkTree(
  scope: WalkScope,
  onEntry: (f: Found) => void,
  excluded: Exclusion[],
  signal?: AbortSignal,
): Promise<void> {
  const rootAscii = ASCII.test(scope.root);
  const prefix = scope.root === '/' ? '/' : scope.root + '/';
  const rootBytes = Buffer.from(scope.root === '/' ? '' : scope.root);
  const pathOf = (rel: string, ascii: boolean): string | Buffer =>
    rel === '' ? scope.root : rootAscii && ascii ? prefix + rel : Buffer.concat([rootBytes, SLASH, Buffer.from(rel, 'latin1')]);
  const rootSt = lstatSync(scope.root, { bigint: true });
  onEntry({ rel: '', key: '', st: metaOf(rootSt) });
  const stack: Array<{ rel: string; ascii: boolean; dev: bigint }> = [{ rel: '', ascii: true, dev: rootSt.dev }];
  let dirs = 0;
  while (stack.length) {
    if (signal?.aborted) throw new UnderstudyError('cancelled', `capture of ${scope.root} cancelled`);
    if (++dirs % 64 === 0) await new Promise(setImmediate); // let piped xattr input drain
    const dir = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(pathOf(dir.rel, dir.ascii), { encoding: 'latin1' });
    } catch (e) {
      excluded.push({ path: keyOfLatin1(dir.rel, dir.ascii), reason: 'unreadable', detail: (e as Error).message });
      continue;
    }
    for (const name of names) {
      const rel = dir.rel.length ? dir.rel + '/' + name : name;
      const ascii = dir.ascii && ASCII.test(name);
      const path = pathOf(rel, ascii);
      let st: BigIntStats;
      try {
        st = lstatSync(path, { bigint: true });
      } catch (e) {
        // vanished between readdir and lstat (live host), or unreadable
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') excluded.push({ path: keyOfLatin1(rel, ascii), reason: 'unreadable', detail: (e as Error).message });
        continue;
      }
      const key = keyOfLatin1(rel, ascii);
      if (scope.operatorExcludes.has(rel)) { excluded.push({ path: key, reason: 'operator' }); continue; }
      if (st.isSocket()) { excluded.push({ path: key, reason: 'socket' }); continue; }
      if (st.isDirectory() && scope.storeId === `${st.dev}:${st.ino}`) { excluded.push({ path: key, reason: 'store' }); continue; }
      const f: Found = { rel, key, st: metaOf(st) };
      if (st.isSymbolicLink()) {
        try { f.link = readlinkSync(path, { encoding: 'buffer' }); } catch { continue; }
      }
      onEntry(f);
      if (!st.isDirectory()) continue;
      const skip = scope.skipContents.get(rel);
      if (skip) { excluded.push({ path: key, reason: skip }); continue; }
      if (st.dev !== dir.dev) {
        const m = scope.mounts.get(Buffer.from(rel, 'latin1').toString('utf8'));
        const cls = m?.cls ?? 'other-fs';
        if (cls !== 'real') {
          excluded.push({ path: key, reason: cls, detail: m ? `${m.mount.fstype} ${m.mount.source}` : undefined });
          continue;
        }
      }
      stack.push({ rel, ascii, dev: st.dev });
    }
  }
}
