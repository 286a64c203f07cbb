// Reads a GNU tar stream (`tar --format=posix --sparse --xattrs`) with tar-stream, byte-exactly:
// names, link targets and xattr values are raw bytes (tar-stream decodes pax records as UTF-8 text,
// which mangles invalid-UTF-8 names and binary xattrs such as security.capability, so pax records of
// our extractor instance are decoded here as latin1, i.e. one char per byte). GNU sparse 1.0 members are
// unpacked into data extents. The ssh:// capture and local sparse files both go through this reader.
import { extract as tarExtract } from 'tar-stream';
import type { Readable } from 'node:stream';

export type TarType = 'file' | 'dir' | 'symlink' | 'link' | 'fifo' | 'chardev' | 'blockdev' | 'other';

export interface TarMember {
  /** Raw path bytes relative to the archive root: no leading './', no trailing '/'; empty = root. */
  name: Buffer;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: string;
  /** Logical size (the real size for sparse members). */
  size: number;
  linkname?: Buffer;
  devmajor: number;
  devminor: number;
  xattrs: Record<string, string>;
  /** Data extents of a sparse member; its content is these extents' bytes, concatenated. */
  sparse?: Array<[number, number]>;
}

const bytes = (latin1: string): Buffer => Buffer.from(latin1, 'latin1');

function decodePaxBinary(buf: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < buf.length) {
    const sp = buf.indexOf(0x20, pos);
    if (sp < 0) break;
    const len = parseInt(buf.toString('latin1', pos, sp), 10);
    if (!len) break;
    const rec = buf.subarray(sp + 1, pos + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq >= 0) out[rec.toString('latin1', 0, eq)] = rec.toString('latin1', eq + 1);
    pos += len;
  }
  return out;
}

export function stripName(raw: Buffer): Buffer {
  let b = raw;
  while (b.length >= 2 && b[0] === 0x2e && b[1] === 0x2f) b = b.subarray(2);
  while (b.length > 0 && b[0] === 0x2f) b = b.subarray(1);
  if (b.length === 1 && b[0] === 0x2e) return Buffer.alloc(0);
  while (b.length > 0 && b[b.length - 1] === 0x2f) b = b.subarray(0, b.length - 1);
  return b;
}

const TYPES: Record<string, TarType> = {
  file: 'file', 'contiguous-file': 'file', directory: 'dir', symlink: 'symlink', link: 'link', fifo: 'fifo',
  'character-device': 'chardev', 'block-device': 'blockdev',
};

function mtimeNs(pax: Record<string, string>, mtime: Date | undefined): string {
  const text = pax.mtime;
  if (text && /^-?\d+(\.\d+)?$/.test(text)) {
    const [s, frac = ''] = text.split('.');
    const ns = BigInt(s!) * 1_000_000_000n + (s!.startsWith('-') ? -1n : 1n) * BigInt((frac + '000000000').slice(0, 9));
    return ns.toString();
  }
  return (BigInt(Math.floor((mtime?.getTime() ?? 0) / 1000)) * 1_000_000_000n).toString();
}

/** Splits a GNU sparse 1.0 body: decimal map (count, then offset/size pairs), padded to 512, then data. */
async function* sparseBody(body: AsyncIterable<Buffer>, onMap: (extents: Array<[number, number]>) => void): AsyncGenerator<Buffer> {
  let head = Buffer.alloc(0);
  let mapDone = false;
  for await (const chunk of body) {
    if (mapDone) { yield chunk; continue; }
    head = Buffer.concat([head, chunk]);
    const lines: number[] = [];
    let pos = 0;
    for (;;) {
      const nl = head.indexOf(0x0a, pos);
      if (nl < 0) break;
      lines.push(Number(head.toString('latin1', pos, nl)));
      pos = nl + 1;
      if (lines.length >= 1 && lines.length === 1 + 2 * lines[0]!) break;
    }
    if (lines.length === 0 || lines.length < 1 + 2 * lines[0]!) continue;
    const extents: Array<[number, number]> = [];
    for (let i = 0; i < lines[0]!; i++) {
      const off = lines[1 + 2 * i]!, len = lines[2 + 2 * i]!;
      if (len > 0) extents.push([off, len]);
    }
    onMap(extents);
    mapDone = true;
    const dataStart = Math.ceil(pos / 512) * 512;
    if (head.length > dataStart) yield head.subarray(dataStart);
  }
}

/** GNU tar writes '%' and '=' in an xattr name as %25 and %3D (a pax keyword ends at '='); nothing else. */
export const xattrName = (keyword: string): string => keyword.replace(/%25|%3D/g, (m) => (m === '%25' ? '%' : '='));

/**
 * Calls `onMember` for every member in archive order. `content` is given for regular files (and must
 * be consumed before the promise resolves); for sparse members `member.sparse` is set once the map
 * has been read, i.e. before the first data chunk is yielded.
 */
export async function readTar(
  input: Readable,
  onMember: (m: TarMember, content: AsyncIterable<Buffer> | undefined) => Promise<void>,
): Promise<void> {
  const ex = (tarExtract as any)({ filenameEncoding: 'latin1', allowUnknownFormat: true });
  const original = ex._decodeLongHeader.bind(ex);
  ex._decodeLongHeader = (buf: Buffer) => {
    if (ex._header.type === 'pax-header') ex._pax = { ...(ex._paxGlobal ?? {}), ...decodePaxBinary(buf) };
    else if (ex._header.type === 'pax-global-header') ex._paxGlobal = decodePaxBinary(buf);
    else original(buf);
  };
  input.on('error', (e) => ex.destroy(e));
  input.pipe(ex);
  for await (const entry of ex as AsyncIterable<any>) {
    const h = entry.header;
    const pax: Record<string, string> = h.pax ?? {};
    const xattrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(pax)) if (k.startsWith('SCHILY.xattr.')) xattrs[xattrName(k.slice(13))] = bytes(v).toString('base64');
    const isSparse = pax['GNU.sparse.major'] === '1';
    const m: TarMember = {
      name: stripName(bytes(isSparse ? pax['GNU.sparse.name']! : h.name)),
      type: TYPES[h.type] ?? 'other',
      mode: (h.mode ?? 0) & 0o7777,
      uid: pax.uid ? Number(pax.uid) : h.uid,
      gid: pax.gid ? Number(pax.gid) : h.gid,
      mtimeNs: mtimeNs(pax, h.mtime),
      size: isSparse ? Number(pax['GNU.sparse.realsize']) : (h.type === 'file' || h.type === 'contiguous-file' ? h.size : 0),
      linkname: h.linkname != null ? stripLink(bytes(h.linkname), h.type === 'link') : undefined,
      devmajor: h.devmajor ?? 0,
      devminor: h.devminor ?? 0,
      xattrs,
    };
    let content: AsyncIterable<Buffer> | undefined;
    if (m.type === 'file') content = isSparse ? sparseBody(entry, (ext) => { m.sparse = ext; }) : entry;
    await onMember(m, content);
    entry.resume();
  }
}

/** Hardlink targets are archive names ('./x'); symlink targets are kept exactly. */
function stripLink(b: Buffer, isHardlink: boolean): Buffer {
  return isHardlink ? stripName(b) : b;
}
