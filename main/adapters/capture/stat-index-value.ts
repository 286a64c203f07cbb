// A stat index value (see map-store StatIndex): the entry's stat key "size:mtimeNs:ctimeNs:inode", then,
// tab-separated, what a re-capture reuses when that key is unchanged: the content's sha256, the xattrs
// (JSON) and the sparse extents (JSON); trailing empty fields are dropped but the tab after the key always
// stays (a value without it is an older plain stat key: nothing known to reuse, so the entry is read).
// With these a local re-capture never parses the previous manifest (~7x its size in memory).
import type { Entry } from '../../core/domain/manifest.ts';

export interface IndexRecord {
  key: string;
  sha256?: string;
  xattrs?: Record<string, string>;
  sparse?: Array<[number, number]>;
}

export function packIndexValue(key: string, e: Entry): string {
  const fields = [key, e.sha256 ?? '', e.xattrs ? JSON.stringify(e.xattrs) : '', e.sparse ? JSON.stringify(e.sparse) : ''];
  while (fields.length > 2 && fields[fields.length - 1] === '') fields.pop();
  return fields.join('\t');
}

/**
 * The previous index value `v` when an entry with stat key `key` may reuse it (undefined: nothing to
 * reuse). Kept as the string itself (no copy) until unpacked.
 */
export function reusable(v: string | undefined, key: string): string | undefined {
  if (v === undefined) return undefined;
  return v.indexOf('\t') === key.length && v.startsWith(key) ? v : undefined;
}

/** Whether the value carries xattrs or sparse extents (beyond key and sha256). */
export const hasExtras = (v: string): boolean => v.indexOf('\t', v.indexOf('\t') + 1) >= 0;

export function unpackIndexValue(v: string): IndexRecord {
  const [key = '', sha256, xattrs, sparse] = v.split('\t');
  const r: IndexRecord = { key };
  if (sha256) r.sha256 = sha256;
  if (xattrs) r.xattrs = JSON.parse(xattrs) as Record<string, string>;
  if (sparse) r.sparse = JSON.parse(sparse) as Array<[number, number]>;
  return r;
}
