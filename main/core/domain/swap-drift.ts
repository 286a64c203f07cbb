// Drift: the host as it is now against map1 (what the sandbox started from) and map2 (what it became),
// for every path of the delta. Unchanged on the host -> apply; the host already looks like map2 ->
// nothing to do; changed on both -> conflict, unless the operator chose a side or a clean 3-way merge
// of a text file under etc/ exists. Paths only the host changed are outside the delta: never touched.
import type { Entry } from './manifest.ts';
import type { DeltaItem } from './swap-delta.ts';
import { isUnder, parentKey } from './swap-delta.ts';
import { describeChange, effective, sameAttrs, sameContent } from './swap-entry.ts';

/** The host's current state of one path: an entry as a capture would see it (never 'hardlink'). */
export type HostEntry = Entry & { nlink?: number; children?: string[] };

export type Prefer = ReadonlyMap<string, 'host' | 'sandbox'>;

export interface Conflict { path: string; host: string; sandbox: string }

export type Decision =
  | { path: string; kind: 'apply'; from: HostEntry | null; to: Entry | null }
  | { path: string; kind: 'already' }
  | { path: string; kind: 'keep-host'; conflict: Conflict }
  | { path: string; kind: 'merge'; from: HostEntry; base: Entry; to: Entry; conflict: Conflict }
  | { path: string; kind: 'conflict'; conflict: Conflict };

/** Same object and attributes; mtime alone is not drift (touching a file changes nothing it does). */
function looksSame(a: Entry | null, b: Entry | null): boolean {
  if (!a || !b) return a === b;
  return sameContent(a, b) && sameAttrs(a, b);
}

function isMergeable(path: string, host: HostEntry, base: Entry, next: Entry): boolean {
  return isUnder(path, 'etc') && host.type === 'file' && base.type === 'file' && next.type === 'file'
    && (sameAttrs(host, base) || sameAttrs(next, base));
}

/** Children the host has that map1 did not: a removal of that directory would take them along. */
function hostOnlyChildren(path: string, host: HostEntry, map1: ReadonlyMap<string, Entry>): string[] {
  return (host.children ?? []).filter((c) => !map1.has(c)).map((c) => c.slice(path === '' ? 0 : path.length + 1));
}

export function classify(
  items: DeltaItem[],
  host: ReadonlyMap<string, HostEntry | null>,
  map1: ReadonlyMap<string, Entry>,
  map2: ReadonlyMap<string, Entry>,
  prefer: Prefer = new Map(),
): Decision[] {
  const decisions = items.map((item): Decision => {
    const { path } = item;
    const now = host.get(path) ?? null;
    const base = item.base ? effective(item.base, map1) : null;
    const next = item.next ? effective(item.next, map2) : null;
    const conflict = (): Conflict => ({ path, host: describeChange(base, now), sandbox: describeChange(base, next) });

    // the host already looks like map2. A member that leaves its group still shares the group's inode on
    // the host: it needs its own. A member that stays shares one (nlink) that looks like its leader's; if
    // the leader itself is applied, the member is re-linked below (the link step is idempotent).
    const leavesGroup = item.base?.type === 'hardlink' && item.next?.type !== 'hardlink' && (now?.nlink ?? 1) > 1;
    const linked = item.next?.type !== 'hardlink' || (now?.nlink ?? 1) > 1;
    if (linked && !leavesGroup && looksSame(now, next) && now?.mtimeNs === next?.mtimeNs) return { path, kind: 'already' };
    let unchanged = base === null ? now === null : now !== null && (base.type === 'dir' && now.type === 'dir'
      ? sameAttrs(base, now) : looksSame(base, now));
    // a directory that goes away (removed, or replaced by a file or symlink) would take them along
    if (unchanged && item.next?.type !== 'dir' && now?.type === 'dir' && hostOnlyChildren(path, now, map1).length) {
      unchanged = false;
    }
    if (unchanged) return { path, kind: 'apply', from: now, to: item.next };
    const choice = prefer.get(path);
    if (choice === 'sandbox') return { path, kind: 'apply', from: now, to: item.next };
    if (choice === 'host') return { path, kind: 'keep-host', conflict: conflict() };
    if (now && base && next && isMergeable(path, now, base, next)) return { path, kind: 'merge', from: now, base, to: next, conflict: conflict() };
    const c = conflict();
    if (now?.type === 'dir' && item.next?.type !== 'dir') {
      const extra = hostOnlyChildren(path, now, map1);
      if (extra.length) c.host = `holds files map1 did not: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ' ...' : ''}`;
    }
    return { path, kind: 'conflict', conflict: c };
  });
  // a member whose leader gets a new inode follows it
  const moving = new Set(decisions.filter((d) => d.kind === 'apply' || d.kind === 'merge').map((d) => d.path));
  return decisions.map((d, i) => {
    const next = items[i]!.next;
    if (d.kind !== 'already' || next?.type !== 'hardlink' || !moving.has(next.linkTo ?? '')) return d;
    return { path: d.path, kind: 'apply', from: host.get(d.path) ?? null, to: next };
  });
}

/**
 * The entry a clean 3-way merge lands as: the merged content, the host's own mode and owner unless the
 * new version changed them, map2's time.
 */
export function mergedEntry(path: string, from: HostEntry, base: Entry, to: Entry, merged: { sha256: string; size: number }): Entry {
  const attrs = to.mode === base.mode && to.uid === base.uid && to.gid === base.gid ? from : to;
  const e: Entry & { nlink?: number; children?: string[] } = { ...attrs, path, type: 'file', size: merged.size, sha256: merged.sha256, mtimeNs: to.mtimeNs };
  delete e.nlink;
  delete e.children;
  delete e.sparse;
  delete e.linkTo;
  return e;
}

/** Every proper ancestor of the paths, the root excluded: the directories a swap writes through. */
export function ancestorsOf(paths: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const path of paths) {
    for (let p = parentKey(path); p !== null && p !== '' && !out.has(p); p = parentKey(p)) out.add(p);
  }
  return out;
}

/**
 * The outermost ancestor of `path` that `was` (map1, or what a transaction left) holds as a directory
 * but the host no longer does: a symlink (writing below it would follow it, maybe out of the tree), a
 * file, or nothing. Null when every such ancestor is still a real directory.
 */
export function brokenAncestor(path: string, host: ReadonlyMap<string, HostEntry | null>, was: (p: string) => Entry | null | undefined): string | null {
  const chain: string[] = [];
  for (let p = parentKey(path); p !== null && p !== ''; p = parentKey(p)) chain.unshift(p);
  return chain.find((p) => was(p)?.type === 'dir' && host.get(p)?.type !== 'dir') ?? null;
}

/**
 * A path below a symlink (or file) on the host is not an entry of the tree: lstat saw whatever the link
 * leads to. Such paths count as absent. `host` must hold the paths' ancestors (ancestorsOf).
 */
export function withoutShadowed(host: Map<string, HostEntry | null>): Map<string, HostEntry | null> {
  for (const p of [...host.keys()]) {
    for (let a = parentKey(p); a !== null && a !== ''; a = parentKey(a)) {
      const e = host.get(a);
      if (e && e.type !== 'dir') { host.set(p, null); break; }
    }
  }
  return host;
}
