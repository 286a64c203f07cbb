// Just enough of ext4 to re-stamp inode metadata in an image that `mkfs.ext4 -d` has just written:
// find each path's inode by walking the directories, rewrite fields in the inode tables and recompute
// the inode checksums (metadata_csum). It reads and writes the image file only; nothing is mounted.
// Only what mkfs.ext4 makes is supported (extent-mapped directories, no inline data, no meta_bg);
// anything else is refused rather than guessed at.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { UnderstudyError } from '../../core/domain/errors.ts';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC32C without pre/post inversion, as e2fsprogs' ext2fs_crc32c_le. */
export function crc32cRaw(crc: number, buf: Uint8Array): number {
  let c = crc >>> 0;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

const INCOMPAT_META_BG = 0x10, INCOMPAT_64BIT = 0x80, INCOMPAT_CSUM_SEED = 0x2000, INCOMPAT_INLINE_DATA = 0x8000;
const RO_COMPAT_GDT_CSUM = 0x10, RO_COMPAT_METADATA_CSUM = 0x400;
const EXTENTS_FL = 0x80000, INLINE_DATA_FL = 0x10000000;
/** Inodes per cached slice of an inode table. */
const SLICE = 256;

/** A directory entry; `name` is its bytes as a latin1 string. */
export interface DirEntry { name: string; ino: number; isDir: boolean }

export class Ext4Image {
  private readonly fd: number;
  readonly blockSize: number;
  readonly inodeSize: number;
  private readonly inodesPerGroup: number;
  private readonly inodeTables: number[] = [];
  private readonly csumSeed?: number;
  private readonly slices = new Map<number, Buffer>();
  private readonly dirty = new Set<number>();
  /** Inode number and generation, the start of an inode's checksummed bytes. */
  private readonly head = Buffer.alloc(8);

  constructor(path: string) {
    this.fd = openSync(path, 'r+');
    try {
      const sb = this.read(1024, 1024);
      if (sb.readUInt16LE(0x38) !== 0xef53) throw this.unsupported('no ext2/3/4 superblock');
      this.blockSize = 1024 << sb.readUInt32LE(0x18);
      this.inodesPerGroup = sb.readUInt32LE(0x28);
      this.inodeSize = sb.readUInt32LE(0x4c) === 0 ? 128 : sb.readUInt16LE(0x58);
      const incompat = sb.readUInt32LE(0x60), roCompat = sb.readUInt32LE(0x64);
      if (incompat & (INCOMPAT_META_BG | INCOMPAT_INLINE_DATA)) throw this.unsupported('meta_bg/inline_data');
      if (roCompat & RO_COMPAT_GDT_CSUM && !(roCompat & RO_COMPAT_METADATA_CSUM)) throw this.unsupported('uninit_bg without metadata_csum');
      if (roCompat & RO_COMPAT_METADATA_CSUM) {
        this.csumSeed = incompat & INCOMPAT_CSUM_SEED ? sb.readUInt32LE(0x270) : crc32cRaw(0xffffffff, sb.subarray(0x68, 0x78));
      }
      const blocks = sb.readUInt32LE(0x04) + (incompat & INCOMPAT_64BIT ? sb.readUInt32LE(0x150) * 2 ** 32 : 0);
      const firstData = sb.readUInt32LE(0x14), perGroup = sb.readUInt32LE(0x20);
      const groups = Math.ceil((blocks - firstData) / perGroup);
      const descSize = incompat & INCOMPAT_64BIT ? sb.readUInt16LE(0xfe) : 32;
      const gdt = this.read((firstData + 1) * this.blockSize, groups * descSize);
      for (let g = 0; g < groups; g++) {
        const d = g * descSize;
        this.inodeTables.push(gdt.readUInt32LE(d + 8) + (descSize >= 64 ? gdt.readUInt32LE(d + 0x28) * 2 ** 32 : 0));
      }
    } catch (e) { closeSync(this.fd); throw e; }
  }

  private unsupported(what: string): UnderstudyError {
    return new UnderstudyError('usage', `disk image: unsupported ext4 layout (${what})`);
  }

  private read(pos: number, len: number): Buffer {
    const buf = Buffer.alloc(len);
    for (let done = 0; done < len;) {
      const n = readSync(this.fd, buf, done, len - done, pos + done);
      if (n === 0) break; // past the end of a sparse image: zeros
      done += n;
    }
    return buf;
  }

  private slot(ino: number): { slice: number; at: number; pos: number; count: number } {
    const g = Math.floor((ino - 1) / this.inodesPerGroup), idx = (ino - 1) % this.inodesPerGroup;
    if (ino < 1 || g >= this.inodeTables.length) throw new UnderstudyError('usage', `disk image: inode ${ino} out of range`);
    const first = idx - (idx % SLICE);
    return { slice: g * Math.ceil(this.inodesPerGroup / SLICE) + first / SLICE, at: (idx - first) * this.inodeSize,
      pos: this.inodeTables[g]! * this.blockSize + first * this.inodeSize, count: Math.min(SLICE, this.inodesPerGroup - first) };
  }

  /** The inode's bytes, a live view: edit it, then markDirty(). */
  inode(ino: number): Buffer {
    const s = this.slot(ino);
    let slice = this.slices.get(s.slice);
    if (!slice) this.slices.set(s.slice, slice = this.read(s.pos, s.count * this.inodeSize));
    return slice.subarray(s.at, s.at + this.inodeSize);
  }

  markDirty(ino: number): void { this.dirty.add(ino); }

  /** Physical [block, count] runs of an extent-mapped inode, in logical order. */
  private extents(inode: Buffer): Array<[number, number]> {
    const flags = inode.readUInt32LE(0x20);
    if (flags & INLINE_DATA_FL || !(flags & EXTENTS_FL)) throw this.unsupported('a directory without extents');
    const out: Array<[number, number]> = [];
    const walk = (node: Buffer): void => {
      if (node.readUInt16LE(0) !== 0xf30a) throw new UnderstudyError('usage', 'disk image: bad extent header');
      const count = node.readUInt16LE(2), depth = node.readUInt16LE(6);
      for (let i = 0; i < count; i++) {
        const e = 12 + i * 12;
        if (depth === 0) {
          const len = node.readUInt16LE(e + 4);
          out.push([node.readUInt16LE(e + 6) * 2 ** 32 + node.readUInt32LE(e + 8), len > 32768 ? len - 32768 : len]);
        } else {
          walk(this.read((node.readUInt32LE(e + 4) + node.readUInt16LE(e + 8) * 2 ** 32) * this.blockSize, this.blockSize));
        }
      }
    };
    walk(inode.subarray(0x28, 0x28 + 60));
    return out;
  }

  /** A directory's entries ('.' and '..' left out). Indexed (htree) blocks read as empty entries. */
  listDir(ino: number): DirEntry[] {
    const out: DirEntry[] = [];
    for (const [start, count] of this.extents(this.inode(ino))) {
      const data = this.read(start * this.blockSize, count * this.blockSize);
      for (let pos = 0; pos + 8 <= data.length;) {
        const child = data.readUInt32LE(pos), recLen = data.readUInt16LE(pos + 4), nameLen = data[pos + 6]!;
        if (recLen < 8 || pos + recLen > data.length) throw new UnderstudyError('usage', `disk image: bad directory entry in inode ${ino}`);
        const dot = data[pos + 8] === 0x2e && (nameLen === 1 || (nameLen === 2 && data[pos + 9] === 0x2e));
        if (child !== 0 && nameLen > 0 && !dot) out.push({ name: data.toString('latin1', pos + 8, pos + 8 + nameLen), ino: child, isDir: data[pos + 7] === 2 });
        pos += recLen;
      }
    }
    return out;
  }

  private checksum(ino: number, inode: Buffer): void {
    if (this.csumSeed === undefined) return;
    const hasHi = this.inodeSize > 128 && inode.readUInt16LE(0x80) >= 4;
    inode.writeUInt16LE(0, 0x7c);
    if (hasHi) inode.writeUInt16LE(0, 0x82);
    this.head.writeUInt32LE(ino, 0);
    inode.copy(this.head, 4, 0x64, 0x68);
    const crc = crc32cRaw(crc32cRaw(this.csumSeed, this.head), inode);
    inode.writeUInt16LE(crc & 0xffff, 0x7c);
    if (hasHi) inode.writeUInt16LE(crc >>> 16, 0x82);
  }

  /** Recomputes the checksums of the changed inodes and writes their table slices back. */
  flush(): void {
    const slices = new Map<number, number>();
    for (const ino of this.dirty) {
      this.checksum(ino, this.inode(ino));
      const s = this.slot(ino);
      slices.set(s.slice, s.pos);
    }
    for (const [s, pos] of slices) {
      const buf = this.slices.get(s)!;
      for (let done = 0; done < buf.length;) done += writeSync(this.fd, buf, done, buf.length - done, pos + done);
    }
    this.dirty.clear();
  }

  close(): void { closeSync(this.fd); }
}
