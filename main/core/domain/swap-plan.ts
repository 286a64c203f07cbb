// The swap plan: every change (path, from, to) turned into the host agent's ordered steps. The order keeps
// the system usable while it runs: directories first (parents before children), files and symlinks,
// hardlinks, then removals deepest first, the package database (var/lib/dpkg) last, and directory times
// at the very end (renames inside a directory change its mtime, so they are set after the last one).
import type { Entry } from './manifest.ts';
import { compareKeys } from './path-key.ts';
import { depth, isUnder, parentKey } from './swap-delta.ts';
import { sameContent } from './swap-entry.ts';

/** Where a staged file's bytes come from. */
export type Source =
  | { kind: 'store'; sha256: string; size: number }
  | { kind: 'bytes'; data: Uint8Array }
  /** hardlink a host file (absolute host path, e.g. an earlier swap's undo copy): inode and metadata kept */
  | { kind: 'host-link'; hostPath: string }
  /** copy a file below the root (path key) with the same content: the bytes need not cross the wire */
  | { kind: 'host-copy'; hostPath: string };

export interface Change { path: string; from: Entry | null; to: Entry | null; source?: Source }

/** Attributes to set; an absent field is left as it is (fewer commands inside the swap window). */
export interface Meta { mode?: number; uid?: number; gid?: number; mtimeNs?: string; xset: Record<string, string>; xrm: string[] }

export type Stage =
  | { type: 'file'; source: Source; meta: Meta }
  | { type: 'symlink'; target: string; meta: Meta }
  | { type: 'fifo' | 'chardev' | 'blockdev'; major: number; minor: number; meta: Meta };

export type Op =
  | { n: number; kind: 'mkdir'; path: string; area: number; meta: Meta }
  | { n: number; kind: 'put'; path: string; area: number; stage: Stage }
  | { n: number; kind: 'link'; path: string; area: number; leader: string }
  | { n: number; kind: 'del'; path: string; area: number }
  /** next null: nothing to do forward (a directory that goes away); prev null: nothing to put back */
  | { n: number; kind: 'meta'; path: string; next: Meta | null; prev: Meta | null };

export interface Plan { ops: Op[]; bytesToStage: number[]; /** per area */ filesToStage: number }

export interface PlanInput {
  changes: Change[];
  /**
   * Parent directories of changed paths: renames inside them change their mtime, so it is set back to
   * `wantMtimeNs` at the end (a swap keeps the host's own time; a rollback restores the pre-swap one).
   */
  parents: ReadonlyMap<string, { now: Entry; wantMtimeNs: string } | null>;
  /** Mount points (path keys) of the host's filesystems; areaOf picks the deepest that holds a path. */
  mounts: string[];
  dpkgDir?: string;
}

export const DPKG_DIR = 'var/lib/dpkg';

export function areaOf(path: string, mounts: string[]): number {
  let best = -1, bestDepth = -1;
  mounts.forEach((m, i) => {
    if (isUnder(path, m) && path !== m && depth(m) > bestDepth) { best = i; bestDepth = depth(m); }
  });
  if (best < 0) best = Math.max(0, mounts.indexOf(''));
  return best;
}

// Most paths have no xattrs: their metas share one empty set and list (a plan has 100k metas; never mutated)
const NO_XSET: Record<string, string> = Object.freeze({}) as Record<string, string>;
const NO_XRM: string[] = Object.freeze([]) as unknown as string[];

function xattrDiff(from: Record<string, string> | undefined, to: Record<string, string> | undefined) {
  if (!to && !from) return { xset: NO_XSET, xrm: NO_XRM };
  const xset: Record<string, string> = {};
  for (const [k, v] of Object.entries(to ?? {})) if (from?.[k] !== v) xset[k] = v;
  const xrm = Object.keys(from ?? {}).filter((k) => !(to && k in to));
  return { xset, xrm };
}

/**
 * Metadata to give `to`, as a change from `from` (null: a fresh object, everything set). Only what
 * differs is set — except that a new owner re-sets mode and every xattr, because chown clears setuid,
 * setgid and file capabilities.
 */
export function metaFor(to: Entry, from: Entry | null, withMtime = true): Meta {
  const owner = !from || from.uid !== to.uid || from.gid !== to.gid;
  const m: Meta = { ...xattrDiff(owner ? undefined : from?.xattrs, to.xattrs) };
  if (owner) { m.uid = to.uid; m.gid = to.gid; }
  if (to.type !== 'symlink' && (owner || from!.mode !== to.mode)) m.mode = to.mode;
  if (withMtime && (!from || from.mtimeNs !== to.mtimeNs)) m.mtimeNs = to.mtimeNs;
  if (owner && from?.xattrs) m.xrm = Object.keys(from.xattrs).filter((k) => !(to.xattrs && k in to.xattrs));
  return m;
}

/** A host entry (probe or record) whose inode had other names: `nlink` is only on host entries. */
const sharedInode = (e: Entry) => ((e as { nlink?: number }).nlink ?? 1) > 1;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type OpBody = DistributiveOmit<Op, 'n'>;
type Ranked = { phase: number; key: string; depth: number; sub: number; op: OpBody };

export function buildPlan(input: PlanInput): Plan {
  const dpkg = input.dpkgDir ?? DPKG_DIR;
  const ranked: Ranked[] = [];
  const bytesToStage = input.mounts.map(() => 0);
  let filesToStage = 0;
  const touchedDirs = new Set<string>();
  const dirMeta = new Set<string>(input.changes.filter((c) => c.to === null).map((c) => c.path));
  const add = (phase: number, path: string, sub: number, op: OpBody) =>
    ranked.push({ phase, key: path, depth: depth(path), sub, op });
  const later = (path: string, base: number) => (isUnder(path, dpkg) ? 10 + base : base);

  for (const c of input.changes) {
    const { path, from, to } = c;
    const area = areaOf(path, input.mounts);
    const p = parentKey(path);
    if (p !== null) touchedDirs.add(p);
    const fromDir = from?.type === 'dir', toDir = to?.type === 'dir';
    // a directory that goes away loses children first (its mtime moves); an undo puts them back, then
    // its old time must follow
    if (fromDir && !toDir) add(20, path, 0, { kind: 'meta', path, next: null, prev: metaFor(from, null) });
    if (to === null) {
      if (from) add(later(path, 3), path, 0, { kind: 'del', path, area });
      continue;
    }
    if (toDir) {
      if (!fromDir) add(0, path, 0, { kind: 'mkdir', path, area, meta: metaFor(to, null, false) });
      add(20, path, 0, { kind: 'meta', path, next: metaFor(to, fromDir ? from : null), prev: fromDir ? metaFor(from, to) : null });
      dirMeta.add(path);
      continue;
    }
    if (to.type === 'hardlink') {
      if (fromDir) add(later(path, 3), path, 0, { kind: 'del', path, area });
      const linkPhase = isUnder(path, dpkg) || isUnder(to.linkTo ?? path, dpkg) ? 12 : 2;
      add(fromDir ? later(path, 3) : linkPhase, path, 1, { kind: 'link', path, area, leader: to.linkTo! });
      continue;
    }
    // metadata alone, in place — unless the inode is shared (a hardlink group on the host, before or
    // after): a chmod there would reach every other name of it; a fresh (or the undo area's) inode goes in
    if (from && !fromDir && from.type !== 'hardlink' && sameContent(from, to) && !sharedInode(from) && !sharedInode(to)) {
      add(later(path, 1), path, 0, { kind: 'meta', path, next: metaFor(to, from), prev: metaFor(from, to) });
      continue;
    }
    let stage: Stage;
    if (to.type === 'file') {
      const source = c.source ?? { kind: 'store', sha256: to.sha256!, size: to.size };
      stage = { type: 'file', source, meta: metaFor(to, null) };
      if (source.kind !== 'host-link') { bytesToStage[area]! += to.size; filesToStage++; }
    } else if (to.type === 'symlink') {
      stage = { type: 'symlink', target: to.target!, meta: metaFor(to, null) };
    } else {
      stage = { type: to.type as 'fifo' | 'chardev' | 'blockdev', major: to.rdevMajor ?? 0, minor: to.rdevMinor ?? 0, meta: metaFor(to, null) };
    }
    if (fromDir) {
      add(later(path, 3), path, 0, { kind: 'del', path, area });
      add(later(path, 3), path, 1, { kind: 'put', path, area, stage });
    } else {
      add(later(path, 1), path, 0, { kind: 'put', path, area, stage });
    }
  }
  // parents whose content changes get their own mtime back (or map2's, when they are part of the change)
  for (const d of touchedDirs) {
    if (dirMeta.has(d)) continue; // has its own meta step, or goes away
    const p = input.parents.get(d);
    if (!p || p.now.type !== 'dir') continue;
    const prev: Meta = { mtimeNs: p.now.mtimeNs, xset: NO_XSET, xrm: NO_XRM };
    add(20, d, 0, { kind: 'meta', path: d, next: { ...prev, mtimeNs: p.wantMtimeNs }, prev });
  }
  const order = (r: Ranked) => (r.phase === 0 ? r.depth : r.phase % 10 === 3 || r.phase === 20 ? -r.depth : 0);
  ranked.sort((a, b) => a.phase - b.phase || order(a) - order(b) || compareKeys(a.key, b.key) || a.sub - b.sub);
  // numbered in place: a release upgrade's plan is 100k ops, not copied once more
  return { ops: ranked.map((r, i) => Object.assign(r.op, { n: i + 1 }) as Op), bytesToStage, filesToStage };
}
