// Drift: the host as it is now against map1 (what the sandbox started from) and map2 (what it became),
// for every path of the delta. Unchanged on the host -> apply; the host already looks like map2 ->
// nothing to do; changed on both -> conflict, unless the operator chose a side or a clean 3-way merge
// of a text file under etc/ exists. Paths only the host changed are outside the delta: never touched.
import type { Entry } from './manifest.ts';
import type { DeltaItem } from './swap-delta.ts';
import { isUnder } from './swap-delta.ts';
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
  return items.map((item): Decision => {
    const { path } = item;
    const now = host.get(path) ?? null;
    const base = item.base ? effective(item.base, map1) : null;
    const next = item.next ? effective(item.next, map2) : null;
    const conflict = (): Conflict => ({ path, host: describeChange(base, now), sandbox: describeChange(base, next) });

    // the host already looks like map2 (a hardlink member is always re-linked: the link step is idempotent)
    if (item.next?.type !== 'hardlink' && looksSame(now, next) && now?.mtimeNs === next?.mtimeNs) return { path, kind: 'already' };
    let unchanged = base === null ? now === null : now !== null && (base.type === 'dir' && now.type === 'dir'
      ? sameAttrs(base, now) : looksSame(base, now));
    if (unchanged && item.next === null && now?.type === 'dir' && hostOnlyChildren(path, now, map1).length) {
      unchanged = false;
    }
    if (unchanged) return { path, kind: 'apply', from: now, to: item.next };
    const choice = prefer.get(path);
    if (choice === 'sandbox') return { path, kind: 'apply', from: now, to: item.next };
    if (choice === 'host') return { path, kind: 'keep-host', conflict: conflict() };
    if (now && base && next && isMergeable(path, now, base, next)) return { path, kind: 'merge', from: now, base, to: next, conflict: conflict() };
    const c = conflict();
    if (now?.type === 'dir' && item.next === null) {
      const extra = hostOnlyChildren(path, now, map1);
      if (extra.length) c.host = `holds files map1 did not: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ' ...' : ''}`;
    }
    return { path, kind: 'conflict', conflict: c };
  });
}
