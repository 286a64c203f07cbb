// Canonical encoding of a manifest: keys sorted, no whitespace, entries in path-key byte order. The map
// id is the sha256 of exactly these bytes, so the same tree always yields the same id.
// The encoding is produced in pieces (canonicalPieces) so a big map (100k+ entries) is hashed and
// written as it is encoded, never held whole as one string plus its bytes. contentPieces encodes the
// entries alone: what a map's content id (identical trees, whatever host or time) hashes.
import { bytesFromKey, compareKeys } from './path-key.ts';
import type { Entry, Manifest } from './manifest.ts';

function sortValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortValue);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortValue(x);
    }
    return out;
  }
  return v;
}

/** The key's bytes as a latin1 string: native string comparison of these is byte order. */
function byteString(key: string): string {
  if (!key.startsWith('b64:') && /^[\x00-\x7f]*$/.test(key)) return key;
  const b = bytesFromKey(key);
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}

const ENTRY_KEYS = new Set(['gid', 'linkTo', 'mode', 'mtimeNs', 'path', 'rdevMajor', 'rdevMinor', 'sha256', 'size', 'sparse', 'target', 'type', 'uid', 'xattrs']);

/** One entry, keys in sorted order: the same bytes as JSON.stringify(sortValue(e)), without the copy. */
function entryJson(e: Entry): string {
  for (const k in e) if (!ENTRY_KEYS.has(k)) return JSON.stringify(sortValue(e));
  const o: Record<string, unknown> = { gid: e.gid };
  if (e.linkTo !== undefined) o.linkTo = e.linkTo;
  o.mode = e.mode;
  o.mtimeNs = e.mtimeNs;
  o.path = e.path;
  if (e.rdevMajor !== undefined) o.rdevMajor = e.rdevMajor;
  if (e.rdevMinor !== undefined) o.rdevMinor = e.rdevMinor;
  if (e.sha256 !== undefined) o.sha256 = e.sha256;
  o.size = e.size;
  if (e.sparse !== undefined) o.sparse = e.sparse;
  if (e.target !== undefined) o.target = e.target;
  o.type = e.type;
  o.uid = e.uid;
  if (e.xattrs !== undefined) o.xattrs = sortValue(e.xattrs);
  return JSON.stringify(o);
}

/** Entries in canonical order: by the byte order of their path keys. */
function sortedEntries(entries: readonly Entry[]): Entry[] {
  const keyed = entries.map((e) => ({ e, k: byteString(e.path) }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((x) => x.e);
}

/** The entries, canonically encoded and comma-joined, in pieces of about `pieceChars` characters; the
 *  first piece starts with `head`, the last ends with `tail`. */
function* entryPieces(entries: readonly Entry[], head: string, tail: string, pieceChars: number): Generator<string> {
  const sorted = sortedEntries(entries);
  let piece = head;
  for (let i = 0; i < sorted.length; i++) {
    piece += (i ? ',' : '') + entryJson(sorted[i]!);
    if (piece.length >= pieceChars) { yield piece; piece = ''; }
  }
  yield piece + tail;
}

/**
 * The canonical encoding in three parts: `head` + the pieces of `body` + `tail`. `body` is exactly
 * contentPieces(m) (the "entries" array), so a writer can hash the content id on the way.
 */
export function canonicalParts(m: Manifest, pieceChars = 1 << 20): { head: string; body: Generator<string>; tail: string } {
  const excluded = [...m.excluded].sort((a, b) => compareKeys(a.path, b.path) || a.reason.localeCompare(b.reason));
  const unstable = [...m.unstable].sort(compareKeys);
  // the top level with an empty entries array, split where the entries go
  const shell = JSON.stringify(sortValue({ ...m, entries: [], excluded, unstable }));
  const at = shell.indexOf('"entries":[]') + '"entries":'.length;
  return { head: shell.slice(0, at), body: contentPieces(m, pieceChars), tail: shell.slice(at + 2) };
}

/** The canonical encoding in pieces of about `pieceChars` characters (joined: canonicalManifest). */
export function* canonicalPieces(m: Manifest, pieceChars = 1 << 20): Generator<string> {
  const { head, body, tail } = canonicalParts(m, pieceChars);
  yield head;
  yield* body;
  yield tail;
}

/**
 * What a map's content id hashes: its entries alone, canonically encoded as a JSON array (the same bytes
 * as the map file's "entries" value). Not the target, host name or capture time, so the same tree
 * captured from two hosts or twice from one has one content id, while its map ids differ.
 */
export function contentPieces(m: Pick<Manifest, 'entries'>, pieceChars = 1 << 20): Generator<string> {
  return entryPieces(m.entries, '[', ']', pieceChars);
}

export function canonicalManifest(m: Manifest): string {
  return [...canonicalPieces(m)].join('');
}
