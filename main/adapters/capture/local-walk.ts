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
  /** Path bytes relative to the root; empty = the root. */
  rel: Buffer;
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

/**
 * Walks the tree depth-first; calls `onEntry` for every kept entry, records exclusions. Synchronous fs
 * calls on purpose: metadata comes from the dentry/inode cache, and a thread-pool hop per lstat cost
 * ~20x more here (the walk is metadata-only; content reads stay async).
 */
export async function walkTree(
  scope: WalkScope,
  onEntry: (f: Found) => void,
  excluded: Exclusion[],
  signal?: AbortSignal,
): Promise<void> {
  const rootSt = lstatSync(scope.root, { bigint: true });
  onEntry({ rel: Buffer.alloc(0), st: metaOf(rootSt) });
  const stack: Array<{ rel: Buffer; dev: bigint }> = [{ rel: Buffer.alloc(0), dev: rootSt.dev }];
  let dirs = 0;
  while (stack.length) {
    if (signal?.aborted) throw new UnderstudyError('cancelled', `capture of ${scope.root} cancelled`);
    if (++dirs % 64 === 0) await new Promise(setImmediate); // let piped xattr input drain
    const dir = stack.pop()!;
    let names: Buffer[];
    try {
      names = readdirSync(absPath(scope.root, dir.rel), { encoding: 'buffer' });
    } catch (e) {
      excluded.push({ path: keyFromBytes(dir.rel), reason: 'unreadable', detail: (e as Error).message });
      continue;
    }
    for (const name of names) {
      const rel = dir.rel.length ? Buffer.concat([dir.rel, SLASH, name]) : name;
      let st: BigIntStats;
      try {
        st = lstatSync(absPath(scope.root, rel), { bigint: true });
      } catch (e) {
        // vanished between readdir and lstat (live host), or unreadable
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') excluded.push({ path: keyFromBytes(rel), reason: 'unreadable', detail: (e as Error).message });
        continue;
      }
      const key = rel.toString('latin1');
      if (scope.operatorExcludes.has(key)) { excluded.push({ path: keyFromBytes(rel), reason: 'operator' }); continue; }
      if (st.isSocket()) { excluded.push({ path: keyFromBytes(rel), reason: 'socket' }); continue; }
      if (st.isDirectory() && scope.storeId === `${st.dev}:${st.ino}`) { excluded.push({ path: keyFromBytes(rel), reason: 'store' }); continue; }
      const f: Found = { rel, st: metaOf(st) };
      if (st.isSymbolicLink()) {
        try { f.link = readlinkSync(absPath(scope.root, rel), { encoding: 'buffer' }); } catch { continue; }
      }
      onEntry(f);
      if (!st.isDirectory()) continue;
      const skip = scope.skipContents.get(key);
      if (skip) { excluded.push({ path: keyFromBytes(rel), reason: skip }); continue; }
      if (st.dev !== dir.dev) {
        const m = scope.mounts.get(rel.toString('utf8'));
        const cls = m?.cls ?? 'other-fs';
        if (cls !== 'real') {
          excluded.push({ path: keyFromBytes(rel), reason: cls, detail: m ? `${m.mount.fstype} ${m.mount.source}` : undefined });
          continue;
        }
      }
      stack.push({ rel, dev: st.dev });
    }
  }
}
