// Turns walked (or tar-read) entries into manifest entries, and groups hardlinks: within a group the
// first path in manifest order is the 'file' entry, the others are 'hardlink' entries pointing at it.
import type { BigIntStats } from 'node:fs';
import type { Entry, EntryType } from '../../core/domain/manifest.ts';
import { compareKeys, keyFromBytes } from '../../core/domain/path-key.ts';
import type { Meta } from './local-walk.ts';

export function typeOf(st: BigIntStats): EntryType | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'chardev';
  if (st.isBlockDevice()) return 'blockdev';
  return undefined;
}

/** Linux dev_t encoding (glibc gnu_dev_major/minor). */
export function devNumbers(rdev: bigint): { major: number; minor: number } {
  return {
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  };
}

/** `path`: the entry's path key. */
export function entryFromStat(path: string, st: Meta, link?: Buffer, xattrs?: Record<string, string>): Entry | undefined {
  const type = st.kind;
  if (!type) return undefined;
  const e: Entry = {
    path, type, mode: st.mode, uid: st.uid, gid: st.gid,
    mtimeNs: st.mtimeNs, size: type === 'file' ? st.size : 0,
  };
  if (type === 'symlink' && link) e.target = keyFromBytes(link);
  if (type === 'chardev' || type === 'blockdev') {
    const d = devNumbers(st.rdev);
    e.rdevMajor = d.major;
    e.rdevMinor = d.minor;
  }
  if (xattrs && Object.keys(xattrs).length) e.xattrs = xattrs;
  return e;
}

/**
 * `groups` maps a link-group id to its member entries (all 'file'). The first member in key order
 * becomes the 'file' entry (taking the content fields from whichever member has them); the others
 * become hardlinks to it.
 */
export function applyHardlinkGroups(groups: Map<string, Entry[]>): void {
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    members.sort((a, b) => compareKeys(a.path, b.path));
    const first = members[0]!;
    const withContent = members.find((m) => m.sha256 !== undefined);
    if (withContent && withContent !== first) {
      first.sha256 = withContent.sha256;
      first.size = withContent.size;
      if (withContent.sparse) first.sparse = withContent.sparse;
    }
    for (const m of members.slice(1)) {
      m.type = 'hardlink';
      m.linkTo = first.path;
      m.size = 0;
      delete m.sha256;
      delete m.sparse;
    }
  }
}
