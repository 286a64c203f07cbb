// Gives every path of a freshly built image its map metadata: mode (setuid & co), owner, mtime to the
// nanosecond (atime = mtime, as restore does). The image's tree was checked out with hardlinks into the
// store, so mkfs.ext4 -d copied the store objects' own metadata; this pass replaces it in the inode
// tables, which is what lets the checkout skip a copy of every file.
import type { Entry } from '../../core/domain/manifest.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { displayKey } from '../../core/domain/path-key.ts';
import { latin1 } from './debugfs-populate.ts';
import { Ext4Image } from './ext4-image.ts';

const S_IFMT: Record<Entry['type'], number> = {
  file: 0x8000, hardlink: 0x8000, dir: 0x4000, symlink: 0xa000, fifo: 0x1000, chardev: 0x2000, blockdev: 0x6000,
};

/** Path (bytes as latin1) -> inode number, for everything below the root. */
export function inodesByPath(img: Ext4Image): Map<string, number> {
  const out = new Map<string, number>();
  const stack: Array<[string, number]> = [['', 2]];
  for (let d = stack.pop(); d; d = stack.pop()) {
    for (const c of img.listDir(d[1])) {
      const key = d[0] === '' ? c.name : `${d[0]}/${c.name}`;
      out.set(key, c.ino);
      if (c.isDir) stack.push([key, c.ino]);
    }
  }
  return out;
}

/** ext4's time encoding: low 32 bits of the seconds; extra = nanoseconds << 2 | epoch bits. */
function writeTime(inode: Buffer, at: number, extraAt: number, sec: number, nsec: number): void {
  inode.writeUInt32LE(sec >>> 0, at);
  inode.writeUInt32LE(((nsec * 4) + (((sec - (sec | 0)) / 2 ** 32) & 3)) >>> 0, extraAt);
}

/** A decimal ns timestamp as [seconds, nanoseconds] (floor division), without BigInt on the hot path. */
function splitNs(ns: string): [number, number] {
  if (ns.length > 9 && ns[0] !== '-') return [Number(ns.slice(0, -9)), Number(ns.slice(-9))];
  const n = BigInt(ns);
  let sec = n / 1_000_000_000n, nsec = n % 1_000_000_000n;
  if (nsec < 0n) { sec -= 1n; nsec += 1_000_000_000n; }
  return [Number(sec), Number(nsec)];
}

/** Mode, owner and (unless `ownerOnly`) times; `links` = the regular file's link count. */
function stamp(inode: Buffer, e: Entry, links: number | undefined, ownerOnly: boolean): void {
  const mode = inode.readUInt16LE(0);
  if (inode.readUInt16LE(0x80) < 0x10) throw new UnderstudyError('usage', 'disk image: inodes too small for nanosecond times');
  if (e.type !== 'symlink') inode.writeUInt16LE((mode & 0xf000) | e.mode, 0);
  inode.writeUInt16LE(e.uid & 0xffff, 0x02);
  inode.writeUInt16LE(e.uid >>> 16, 0x78);
  inode.writeUInt16LE(e.gid & 0xffff, 0x18);
  inode.writeUInt16LE(e.gid >>> 16, 0x7a);
  if (ownerOnly) return;
  if (links !== undefined) inode.writeUInt16LE(links, 0x1a);
  const [sec, nsec] = splitNs(e.mtimeNs);
  writeTime(inode, 0x10, 0x88, sec, nsec); // mtime
  writeTime(inode, 0x08, 0x8c, sec, nsec); // atime
}

/**
 * Stamps the map's metadata on the image at `img`: a hardlink takes its group's (its head file's), and
 * a regular file's link count is its group's size (debugfs' `ln` does not count). Paths in `edited`
 * (written or removed by the sandbox edits) keep their own times; one the edits replaced by a new
 * file of the same kind keeps the map's mode and owner. Any other map path missing from the image,
 * or of another kind there, is an error. Returns how many inodes were stamped.
 */
export function stampMapMetadata(img: string, entries: readonly Entry[], edited: ReadonlySet<string>): number {
  const image = new Ext4Image(img);
  try {
    const inodes = inodesByPath(image);
    const byPath = new Map(entries.map((e) => [e.path, e]));
    const links = new Map<string, number>();
    for (const e of entries) {
      const head = e.type === 'hardlink' ? e.linkTo! : e.path;
      if ((e.type === 'file' || e.type === 'hardlink') && !edited.has(e.path)) links.set(head, (links.get(head) ?? 0) + 1);
    }
    let stamped = 0;
    for (const e of entries) {
      const ino = e.path === '' ? 2 : inodes.get(latin1(e.path));
      const inode = ino === undefined ? undefined : image.inode(ino);
      const meta = e.type === 'hardlink' ? { ...byPath.get(e.linkTo!)!, type: 'hardlink' as const } : e;
      const sameKind = inode !== undefined && (inode.readUInt16LE(0) & 0xf000) === S_IFMT[e.type];
      if (edited.has(e.path)) {
        if (sameKind) { stamp(inode, meta, undefined, true); image.markDirty(ino!); }
        continue;
      }
      if (!inode) throw new UnderstudyError('usage', `disk image: /${displayKey(e.path)} of the map is missing from the built image`);
      if (!sameKind) throw new UnderstudyError('usage', `disk image: /${displayKey(e.path)} is not a ${e.type} in the built image`);
      const head = e.type === 'hardlink' ? e.linkTo! : e.path;
      stamp(inode, meta, e.type === 'file' || e.type === 'hardlink' ? links.get(head) : undefined, false);
      image.markDirty(ino!);
      stamped++;
    }
    image.flush();
    return stamped;
  } finally {
    image.close();
  }
}
