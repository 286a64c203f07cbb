// delta = map2 - map1: every path whose entry was added, removed or changed (content, metadata or type).
// A hardlink member counts as changed when its group leader changed: the swap puts a new inode at the
// leader's path, so every member must be re-linked to it.
import type { Entry, Manifest } from './manifest.ts';
import { bytesFromKey, compareKeys, keyFromBytes } from './path-key.ts';
import { indexByPath, sameEntry } from './swap-entry.ts';

export interface DeltaItem {
  path: string;
  /** map1's entry, null when added. */
  base: Entry | null;
  /** map2's entry, null when removed. */
  next: Entry | null;
}

export interface Delta {
  items: DeltaItem[];
  added: string[];
  changed: string[];
  removed: string[];
}

/** `indexes`: the maps' entries by path, when the caller has them already (a map of 100k entries each). */
export function computeDelta(map1: Pick<Manifest, 'entries'>, map2: Pick<Manifest, 'entries'>,
  indexes?: { a: ReadonlyMap<string, Entry>; b: ReadonlyMap<string, Entry> }): Delta {
  const a = indexes?.a ?? indexByPath(map1), b = indexes?.b ?? indexByPath(map2);
  const changedPaths = new Set<string>();
  for (const [p, nb] of b) {
    const na = a.get(p);
    if (!na || !sameEntry(na, nb)) changedPaths.add(p);
  }
  for (const p of a.keys()) if (!b.has(p)) changedPaths.add(p);
  // leaders first: a member is re-linked whenever its (new) leader is part of the delta
  for (const [p, nb] of b) {
    if (nb.type === 'hardlink' && nb.linkTo && changedPaths.has(nb.linkTo)) changedPaths.add(p);
  }
  const items = [...changedPaths].sort(compareKeys).map((p) => ({ path: p, base: a.get(p) ?? null, next: b.get(p) ?? null }));
  return {
    items,
    added: items.filter((i) => !i.base).map((i) => i.path),
    changed: items.filter((i) => i.base && i.next).map((i) => i.path),
    removed: items.filter((i) => !i.next).map((i) => i.path),
  };
}

/** Parent path key ('' for top-level names; null for the root itself). Works on bytes: 'b64:' keys too. */
export function parentKey(path: string): string | null {
  if (path === '') return null;
  if (!path.startsWith('b64:')) {
    const i = path.lastIndexOf('/');
    return i < 0 ? '' : path.slice(0, i);
  }
  const bytes = bytesFromKey(path);
  const i = bytes.lastIndexOf(0x2f);
  return i < 0 ? '' : keyFromBytes(bytes.subarray(0, i));
}

// A plain key is UTF-8 text, whose only byte 0x2f is '/': it is measured as a string, with no bytes made
// (a plan calls these several times for each of 100k paths).
const plain = (key: string) => !key.startsWith('b64:');

export function depth(path: string): number {
  if (path === '') return 0;
  let d = 1;
  if (plain(path)) {
    for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) d++;
    return d;
  }
  for (const b of bytesFromKey(path)) if (b === 0x2f) d++;
  return d;
}

/** True when `path` is `dir` or lies below it. */
export function isUnder(path: string, dir: string): boolean {
  if (dir === '') return true;
  if (plain(path) && plain(dir)) return path.startsWith(dir) && (path.length === dir.length || path[dir.length] === '/');
  const p = bytesFromKey(path), d = bytesFromKey(dir);
  if (p.length < d.length) return false;
  for (let i = 0; i < d.length; i++) if (p[i] !== d[i]) return false;
  return p.length === d.length || p[d.length] === 0x2f;
}
