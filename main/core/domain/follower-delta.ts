// May a host take another host's rehearsal? The representative R rehearsed map1(R) -> map2(R); a
// follower F of its group has its own map1(F). F takes the rehearsed delta only where the comparison
// holds path by path, with the same drift rules a swap applies to one host, map1(F) standing for "the
// host now":
//   - on every delta path map1(F) is map1(R) (content, type, mode, owner, xattrs; mtime alone is not a
//     difference) -> F takes map2(R)'s version;
//   - F already has map2(R)'s version -> nothing to do there;
//   - F differs and the path is text under etc/ -> a clean 3-way merge (base map1(R), ours map1(F),
//     theirs map2(R)) is F's version; no clean merge -> conflict;
//   - anything else that differs is a conflict, as are: a directory the delta writes through that F
//     lacks or has as something else, files F has inside a directory the delta removes, a hard-link
//     group on a delta path whose members differ from R's, a link the delta makes to a path whose
//     content differs on F.
// A follower with conflicts is rehearsed on its own. Otherwise map2(F) = map1(F) with the delta's paths
// replaced (followerMap2): every path outside the delta stays exactly as F has it (its host name, keys,
// machine-id, logs, local edits), so the swap of map1(F) -> map2(F) never writes anything else.
import type { Entry, Manifest } from './manifest.ts';
import { compareKeys } from './path-key.ts';
import { computeDelta, parentKey, type DeltaItem } from './swap-delta.ts';
import { ancestorsOf, brokenAncestor, classify, type Conflict, type HostEntry } from './swap-drift.ts';
import { describeChange, effective, indexByPath, sameAttrs, sameContent } from './swap-entry.ts';
import { diffMaps } from './map-diff.ts';

/** The verdict on a follower, with the store's merges done and, when it takes the rehearsal, its own map2. */
export interface FollowerVerdict {
  /** The follower may take the rehearsal: every delta path holds (identical, already so, or merged). */
  takes: boolean;
  /** Paths in the rehearsed delta, and how many of them were verified identical or already as rehearsed. */
  deltaPaths: number;
  identical: number;
  already: number;
  /** Delta paths that got a clean 3-way merge of the follower's text and the rehearsed one. */
  merged: string[];
  /** How many paths where the follower differs from the representative outside the delta were kept. */
  hostSpecific: number;
  /** A few of them, for the report. */
  hostSpecificSample: string[];
  /** Why the follower rehearses on its own (empty when it takes the rehearsal). */
  conflicts: Conflict[];
  /** The follower's map2 (its map1 with the verified delta) and its delta, when it takes the rehearsal. */
  map2?: string;
  delta?: { added: string[]; changed: string[]; removed: string[] };
}

export interface MergeCandidate { path: string; from: HostEntry; base: Entry; to: Entry; conflict: Conflict }

export interface FollowerCheck {
  /** Delta paths whose map1 is the representative's: the follower takes the rehearsed version. */
  identical: string[];
  /** Delta paths the follower already has as the rehearsal left them. */
  already: string[];
  /** Text under etc/ changed on both sides: a clean 3-way merge is the follower's version, else a conflict. */
  merges: MergeCandidate[];
  /** What sends the follower to a rehearsal of its own (empty: it may take the delta). */
  conflicts: Conflict[];
  /** Paths outside the delta where the follower differs from the representative: kept as the follower has them. */
  hostSpecific: string[];
  /** Number of paths in the rehearsed delta. */
  deltaPaths: number;
}

/** path -> the sorted paths of its hard-link group (only for groups of two or more). */
function linkGroups(m: Manifest): Map<string, string> {
  const members = new Map<string, string[]>();
  for (const e of m.entries) {
    if (e.type !== 'hardlink' || e.linkTo === undefined) continue;
    const list = members.get(e.linkTo);
    if (list) list.push(e.path); else members.set(e.linkTo, [e.linkTo, e.path]);
  }
  const out = new Map<string, string>();
  for (const list of members.values()) {
    const key = [...list].sort(compareKeys).join('\0');
    for (const p of list) out.set(p, key);
  }
  return out;
}

/** The follower's entry at `path` as the drift rules see a host: an inode (links resolved) with its link count. */
function asHostEntry(path: string, own: ReadonlyMap<string, Entry>, groups: ReadonlyMap<string, string>,
  children: ReadonlyMap<string, string[]>): HostEntry | null {
  const e = own.get(path);
  if (!e) return null;
  const h: HostEntry = { ...effective(e, own), path };
  const group = groups.get(path);
  if (group) h.nlink = group.split('\0').length;
  if (e.type === 'dir') h.children = children.get(path) ?? [];
  return h;
}

export function checkFollower(rep1: Manifest, rep2: Manifest, own1: Manifest): FollowerCheck {
  const delta = computeDelta(rep1, rep2);
  const r1 = indexByPath(rep1), r2 = indexByPath(rep2), f1 = indexByPath(own1);
  const inDelta = new Set(delta.items.map((i) => i.path));
  const ownGroups = linkGroups(own1), repGroups = linkGroups(rep1);
  const children = new Map<string, string[]>();
  for (const e of own1.entries) {
    const p = parentKey(e.path);
    if (p === null) continue;
    const list = children.get(p);
    if (list) list.push(e.path); else children.set(p, [e.path]);
  }
  const host = new Map<string, HostEntry | null>();
  for (const p of [...inDelta, ...ancestorsOf(inDelta)]) host.set(p, asHostEntry(p, f1, ownGroups, children));

  const out: FollowerCheck = { identical: [], already: [], merges: [], conflicts: [], hostSpecific: [], deltaPaths: delta.items.length };
  const blocked = new Map<string, string[]>();
  const extra = extraConflicts(delta.items, inDelta, r1, f1, repGroups, ownGroups);
  for (const d of classify(delta.items, host, r1, r2)) {
    const broken = d.kind === 'already' ? null : brokenAncestor(d.path, host, (p) => r1.get(p));
    if (broken !== null) blocked.set(broken, [...blocked.get(broken) ?? [], d.path]);
    else if (extra.has(d.path)) out.conflicts.push(extra.get(d.path)!);
    else if (d.kind === 'apply') out.identical.push(d.path);
    else if (d.kind === 'already') out.already.push(d.path);
    else if (d.kind === 'merge') out.merges.push({ path: d.path, from: d.from, base: d.base, to: d.to, conflict: d.conflict });
    else if (d.kind === 'conflict' || d.kind === 'keep-host') out.conflicts.push(d.conflict);
  }
  for (const [dir, below] of blocked) {
    const e = host.get(dir);
    out.conflicts.push({ path: dir, host: `${e ? `a ${e.type}` : 'absent'} (the representative's is a directory)`,
      sandbox: `the rehearsal changes ${below.length} path(s) below it` });
  }
  const diff = diffMaps(rep1, own1);
  out.hostSpecific = [...diff.added, ...diff.changed, ...diff.removed].filter((p) => !inDelta.has(p)).sort(compareKeys);
  return out;
}

/** Conflicts the per-path drift rules cannot see: hard links whose groups or targets differ. */
function extraConflicts(items: DeltaItem[], inDelta: ReadonlySet<string>, r1: ReadonlyMap<string, Entry>, f1: ReadonlyMap<string, Entry>,
  repGroups: ReadonlyMap<string, string>, ownGroups: ReadonlyMap<string, string>): Map<string, Conflict> {
  const out = new Map<string, Conflict>();
  const names = (g: string | undefined, p: string) => (g ?? p).split('\0').length;
  for (const { path, next } of items) {
    const mine = ownGroups.get(path), theirs = repGroups.get(path);
    if ((mine ?? path) !== (theirs ?? path)) {
      out.set(path, { path, host: `a hard link with ${names(mine, path)} name(s)`, sandbox: `the representative's has ${names(theirs, path)}: its rehearsal does not show what replacing it does here` });
      continue;
    }
    // a new link to a path the delta leaves alone: that path must hold the same inode content here
    const target = next?.type === 'hardlink' ? next.linkTo : undefined;
    if (target === undefined || inDelta.has(target)) continue;
    const a = r1.get(target), b = f1.get(target);
    const ea = a && effective(a, r1), eb = b && effective(b, f1);
    if (!ea || !eb || !sameContent(ea, eb) || !sameAttrs(ea, eb)) {
      out.set(path, { path, host: `links to ${target}, which is ${describeChange(ea ?? null, eb ?? null)} here`, sandbox: 'a hard link to it' });
    }
  }
  return out;
}

/**
 * map2 for the follower: its own map1 with the rehearsed versions on the delta's paths (identical ones
 * from map2(R), merged ones as given), everything else exactly its own. Only for a check without conflicts.
 */
export function followerMap2(own1: Manifest, rep2: Manifest, check: FollowerCheck, merged: ReadonlyMap<string, Entry>): Manifest {
  if (check.conflicts.length) throw new Error('followerMap2: the follower has conflicts; it rehearses on its own');
  const r2 = indexByPath(rep2);
  const entries = indexByPath(own1);
  for (const p of check.identical) {
    const next = r2.get(p);
    if (next) entries.set(p, next); else entries.delete(p);
  }
  for (const m of check.merges) {
    const e = merged.get(m.path);
    if (!e) throw new Error(`followerMap2: no merged version of ${m.path}`);
    entries.set(m.path, e);
  }
  return { ...own1, capturedAt: rep2.capturedAt, unstable: [], entries: [...entries.values()].sort((a, b) => compareKeys(a.path, b.path)) };
}
