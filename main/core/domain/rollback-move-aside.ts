// What a rollback does with what the host wrote, since the swap, inside a directory the swap made (from
// nothing, or in place of a file or symlink). Such a directory belongs to the upgrade. Left in place with
// what the host wrote there (a new release's caches from its first boot, a new service's state), it keeps
// the new release's residue on the old host, and without the swap's own files it is a half directory.
// So the rollback takes those paths out too, as steps of its own transaction: each goes into the
// rollback's undo area (nothing is deleted; the record keeps what each was), the tree is exactly as before
// the swap, and a rollback of the rollback puts everything back. Runtime state (a log directory a new
// package shipped, say) is the host's own: it stays where it is, and so do the directories above it.
import { parentKey } from './swap-delta.ts';
import type { HostEntry } from './swap-drift.ts';

/** Made directories the rollback empties: still real directories, not runtime state, nothing above them replaced. */
export function dirsToEmpty(made: ReadonlySet<string>, now: ReadonlyMap<string, HostEntry | null>,
  isRuntimeState: (path: string) => boolean, brokenAbove: (path: string) => boolean): string[] {
  return [...made].filter((d) => now.get(d)?.type === 'dir' && !isRuntimeState(d) && !brokenAbove(d));
}

/** Names in those directories the transaction did not write: the host's, since. */
export function namesWrittenSince(dirs: readonly string[], written: ReadonlySet<string>,
  now: ReadonlyMap<string, HostEntry | null>): string[] {
  return dirs.flatMap((d) => (now.get(d)?.children ?? []).filter((c) => !written.has(c)));
}

/** Host-written paths that stay: runtime state, and every host-written directory above one. */
export function stayingWithRuntimeState(found: ReadonlyMap<string, HostEntry>, isRuntimeState: (path: string) => boolean): Set<string> {
  const stay = new Set<string>();
  for (const p of found.keys()) {
    if (!isRuntimeState(p)) continue;
    for (let a: string | null = p; a !== null && found.has(a) && !stay.has(a); a = parentKey(a)) stay.add(a);
  }
  return stay;
}

/** The topmost of some paths (none of them below another): what a report names. */
export function topmost(paths: readonly string[]): string[] {
  const all = new Set(paths);
  const below = (p: string) => { for (let a = parentKey(p); a !== null; a = parentKey(a)) if (all.has(a)) return true; return false; };
  return [...all].filter((p) => !below(p)).sort();
}
