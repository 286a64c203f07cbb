// Structural checks on a manifest before anything is written from it (restore, disk build, swap): a map
// is data from outside and must not be able to point a write anywhere but inside the destination.
import type { Entry, Manifest } from './manifest.ts';
import { bytesFromKey, displayKey, keyFromBytes } from './path-key.ts';
import { UnderstudyError } from './errors.ts';

const SHA = /^[0-9a-f]{64}$/;
const TYPES = new Set(['file', 'dir', 'symlink', 'hardlink', 'fifo', 'chardev', 'blockdev']);

/** A safe relative path key: no empty, '.' or '..' components, no leading '/', no NUL byte. */
export function isSafePathKey(key: string): boolean {
  if (key === '') return true;
  const bytes = bytesFromKey(key);
  if (bytes.includes(0)) return false;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== 0x2f) continue;
    const len = i - start;
    const dots = len <= 2 && bytes.subarray(start, i).every((b) => b === 0x2e);
    if (len === 0 || dots) return false;
    start = i + 1;
  }
  return true;
}

/** Parent key of a path key ('' for top-level names). */
export function parentKey(key: string): string {
  const bytes = bytesFromKey(key);
  const i = bytes.lastIndexOf(0x2f);
  return i < 0 ? '' : keyFromBytes(bytes.subarray(0, i));
}

function fail(e: Entry | undefined, why: string): never {
  throw new UnderstudyError('store-corrupt', `map is malformed${e ? ` at '${displayKey(e.path)}'` : ''}: ${why}`);
}

/** Throws UnderstudyError('store-corrupt') naming the first offending entry. */
export function validateManifest(m: Manifest): void {
  if (!m || m.version !== 1 || !Array.isArray(m.entries)) fail(undefined, 'not a version 1 manifest');
  const byPath = new Map<string, Entry>();
  for (const e of m.entries) {
    if (typeof e.path !== 'string' || !isSafePathKey(e.path)) fail(e, 'unsafe path (absolute, empty component, . or ..)');
    if (!TYPES.has(e.type)) fail(e, `unknown type ${String(e.type)}`);
    if (byPath.has(e.path)) fail(e, 'duplicate path');
    if (!Number.isInteger(e.mode) || e.mode < 0 || e.mode > 0o7777) fail(e, 'bad mode');
    if (!Number.isInteger(e.uid) || !Number.isInteger(e.gid) || e.uid < 0 || e.gid < 0) fail(e, 'bad owner');
    if (!/^-?\d+$/.test(e.mtimeNs)) fail(e, 'bad mtime');
    if (e.type === 'file') {
      if (!SHA.test(e.sha256 ?? '') || !Number.isSafeInteger(e.size) || e.size < 0) fail(e, 'file without a valid sha256/size');
      if (e.sparse) {
        let end = 0;
        for (const [off, len] of e.sparse) {
          if (!Number.isSafeInteger(off) || !Number.isSafeInteger(len) || off < end || len <= 0 || off + len > e.size) fail(e, 'bad sparse extents');
          end = off + len;
        }
      }
    }
    if (e.type === 'symlink' && typeof e.target !== 'string') fail(e, 'symlink without target');
    if ((e.type === 'chardev' || e.type === 'blockdev') && (!Number.isInteger(e.rdevMajor) || !Number.isInteger(e.rdevMinor))) fail(e, 'device without numbers');
    byPath.set(e.path, e);
  }
  const root = byPath.get('');
  if (!root || root.type !== 'dir') fail(undefined, 'no root directory entry');
  for (const e of m.entries) {
    if (e.path !== '' && byPath.get(parentKey(e.path))?.type !== 'dir') fail(e, 'parent is not a directory in the map');
    if (e.type === 'hardlink' && byPath.get(e.linkTo ?? '\0')?.type !== 'file') fail(e, 'hardlink to a missing file entry');
  }
}
