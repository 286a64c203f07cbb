// Structural checks on a manifest before anything is written from it (restore, disk build, swap): a map
// is data from outside and must not be able to point a write anywhere but inside the destination.
import type { Entry, Manifest } from './manifest.ts';
import { bytesFromKey, displayKey, keyFromBytes } from './path-key.ts';
import { UnderstudyError } from './errors.ts';

const SHA = /^[0-9a-f]{64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MAX_ID = 0xfffffffe; // (uid_t)-1 means "leave unchanged" to chown
/** A timespec holds 64-bit seconds (ns as one int64 would end in 2262; ext4 goes to 2446). */
const fitsTimespec = (ns: bigint): boolean => ns / 1_000_000_000n < 2n ** 63n && ns / 1_000_000_000n >= -(2n ** 63n);

/** Only the one key encoding of a path's bytes: another spelling ('b64:YQ==' for 'a') would be a second entry for the same file. */
const isCanonicalKey = (key: string): boolean => keyFromBytes(bytesFromKey(key)) === key;

/** Xattr names and values are written into a `setfattr --restore` dump: a value that is not strict base64 could start another record. */
function badXattrs(x: unknown): boolean {
  if (x === undefined) return false;
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return true;
  return Object.entries(x).some(([name, value]) => name.length === 0 || name.length > 255 || /[\0\u0100-\uffff]/.test(name)
    || typeof value !== 'string' || !BASE64.test(value));
}
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
    if (!isCanonicalKey(e.path)) fail(e, 'path key is not in canonical encoding');
    if (!TYPES.has(e.type)) fail(e, `unknown type ${String(e.type)}`);
    if (byPath.has(e.path)) fail(e, 'duplicate path');
    if (!Number.isInteger(e.mode) || e.mode < 0 || e.mode > 0o7777) fail(e, 'bad mode');
    if (![e.uid, e.gid].every((id) => Number.isInteger(id) && id >= 0 && id <= MAX_ID)) fail(e, 'bad owner');
    if (typeof e.mtimeNs !== 'string' || !/^-?\d{1,29}$/.test(e.mtimeNs) || !fitsTimespec(BigInt(e.mtimeNs))) fail(e, 'bad mtime');
    if (badXattrs(e.xattrs)) fail(e, 'bad xattrs (names must be bytes, values base64)');
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
    if (e.type === 'symlink' && (typeof e.target !== 'string' || e.target === '' || !isCanonicalKey(e.target) || bytesFromKey(e.target).includes(0))) {
      fail(e, 'symlink without a valid target (empty, NUL byte or non-canonical key)');
    }
    const devNumber = (n: unknown) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 0xffffffff;
    if ((e.type === 'chardev' || e.type === 'blockdev') && !(devNumber(e.rdevMajor) && devNumber(e.rdevMinor))) fail(e, 'device without valid numbers');
    byPath.set(e.path, e);
  }
  const root = byPath.get('');
  if (!root || root.type !== 'dir') fail(undefined, 'no root directory entry');
  for (const e of m.entries) {
    if (e.path !== '' && byPath.get(parentKey(e.path))?.type !== 'dir') fail(e, 'parent is not a directory in the map');
    if (e.type === 'hardlink' && byPath.get(e.linkTo ?? '\0')?.type !== 'file') fail(e, 'hardlink to a missing file entry');
  }
}
