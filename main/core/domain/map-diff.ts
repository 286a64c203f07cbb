// What differs between two maps: added / changed (content or metadata) / removed path keys.
import type { Entry, Manifest } from './manifest.ts';
import { compareKeys } from './path-key.ts';

export interface MapDiff {
  added: string[];
  changed: string[];
  removed: string[];
}

const sameXattrs = (a?: Record<string, string>, b?: Record<string, string>): boolean => {
  const ka = Object.keys(a ?? {}).sort(), kb = Object.keys(b ?? {}).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a![k] === b![k]);
};

const sameExtents = (a?: Array<[number, number]>, b?: Array<[number, number]>): boolean =>
  JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** True when two entries for the same path describe the same content and metadata. */
export function sameEntry(a: Entry, b: Entry): boolean {
  return a.type === b.type && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid
    && a.mtimeNs === b.mtimeNs && a.size === b.size && a.sha256 === b.sha256 && a.target === b.target
    && a.linkTo === b.linkTo && a.rdevMajor === b.rdevMajor && a.rdevMinor === b.rdevMinor
    && sameExtents(a.sparse, b.sparse) && sameXattrs(a.xattrs, b.xattrs);
}

/**
 * Directory mtimes change whenever a child is added or removed; such a dir is reported as changed
 * only when `includeDirMtime` is set (default true: the diff is exact).
 */
export function diffMaps(a: Manifest, b: Manifest, includeDirMtime = true): MapDiff {
  const before = new Map(a.entries.map((e) => [e.path, e]));
  const after = new Map(b.entries.map((e) => [e.path, e]));
  const out: MapDiff = { added: [], changed: [], removed: [] };
  for (const [p, e] of after) {
    const old = before.get(p);
    if (!old) out.added.push(p);
    else if (!sameEntry(old, e)) {
      const onlyDirTime = old.type === 'dir' && e.type === 'dir' && sameEntry({ ...old, mtimeNs: e.mtimeNs }, e);
      if (includeDirMtime || !onlyDirTime) out.changed.push(p);
    }
  }
  // A hardlink entry only names its group's first path; when that file's content changes, every other
  // name of the inode reads the new content too, so it changed as well.
  const changed = new Set(out.changed);
  const contentOf = (e?: Entry) => (e ? `${e.type}:${e.sha256}:${e.size}:${JSON.stringify(e.sparse ?? null)}` : '');
  for (const [p, e] of after) {
    const old = before.get(p);
    if (e.type !== 'hardlink' || old?.type !== 'hardlink' || changed.has(p) || e.linkTo !== old.linkTo) continue;
    if (contentOf(before.get(old.linkTo!)) !== contentOf(after.get(e.linkTo!))) out.changed.push(p);
  }
  for (const p of before.keys()) if (!after.has(p)) out.removed.push(p);
  for (const list of [out.added, out.changed, out.removed]) list.sort(compareKeys);
  return out;
}
