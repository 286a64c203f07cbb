// How two versions of one path compare for the swap: content, metadata, or not at all.
// Hardlink members are compared through their group leader (the inode they share).
import type { Entry, Manifest } from './manifest.ts';

/** The entry as the inode looks: a hardlink member takes its leader's attributes, type 'file'. */
export function effective(e: Entry, byPath: ReadonlyMap<string, Entry>): Entry {
  if (e.type !== 'hardlink' || !e.linkTo) return e;
  const leader = byPath.get(e.linkTo);
  return leader ? { ...leader, path: e.path } : e;
}

export function indexByPath(m: Pick<Manifest, 'entries'>): Map<string, Entry> {
  return new Map(m.entries.map((e) => [e.path, e]));
}

function sameXattrs(a?: Record<string, string>, b?: Record<string, string>): boolean {
  const ka = Object.keys(a ?? {}).sort(), kb = Object.keys(b ?? {}).sort();
  if (ka.length !== kb.length) return false;
  return ka.every((k, i) => k === kb[i] && a![k] === b![k]);
}

/** Same bytes/target/device: the object itself, without ownership, mode or times. */
export function sameContent(a: Entry, b: Entry): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case 'file': return a.size === b.size && a.sha256 === b.sha256;
    case 'symlink': return a.target === b.target;
    case 'chardev': case 'blockdev': return a.rdevMajor === b.rdevMajor && a.rdevMinor === b.rdevMinor;
    case 'hardlink': return a.linkTo === b.linkTo;
    default: return true;
  }
}

/** Mode, owner and xattrs (not mtime). Symlink modes are meaningless on Linux and ignored. */
export function sameAttrs(a: Entry, b: Entry): boolean {
  return (a.type === 'symlink' || a.mode === b.mode) && a.uid === b.uid && a.gid === b.gid && sameXattrs(a.xattrs, b.xattrs);
}

/** Exact equality of two entries, mtime included. */
export function sameEntry(a: Entry, b: Entry): boolean {
  return sameContent(a, b) && sameAttrs(a, b) && a.mtimeNs === b.mtimeNs;
}

/** Human summary of what changed from `a` to `b` (for conflict reports). */
export function describeChange(a: Entry | null, b: Entry | null): string {
  if (!a && !b) return 'absent';
  if (!a) return `added (${b!.type})`;
  if (!b) return 'removed';
  if (a.type !== b.type) return `type ${a.type} -> ${b.type}`;
  const parts: string[] = [];
  if (!sameContent(a, b)) parts.push(a.type === 'symlink' ? `target -> ${b.target}` : 'content changed');
  if (a.mode !== b.mode && a.type !== 'symlink') parts.push(`mode ${a.mode.toString(8)} -> ${b.mode.toString(8)}`);
  if (a.uid !== b.uid || a.gid !== b.gid) parts.push(`owner ${a.uid}:${a.gid} -> ${b.uid}:${b.gid}`);
  if (!sameXattrs(a.xattrs, b.xattrs)) parts.push('xattrs changed');
  if (parts.length === 0 && a.mtimeNs !== b.mtimeNs) parts.push('mtime only');
  return parts.join(', ') || 'unchanged';
}
