// Planning a rollback: what an earlier transaction changed, against the host as it is now. Paths the host
// changed since are kept, except in a directory the transaction made: what the host wrote there since
// goes out with it (core/domain/rollback-move-aside.ts). The old objects come from the transaction's undo
// area (hardlinked: same inode, same metadata, no copy), from a name of their link group still in the
// tree, or from the store.
import { join } from 'node:path';
import { access } from 'node:fs/promises';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { Entry } from '../../core/domain/manifest.ts';
import { displayKey } from '../../core/domain/path-key.ts';
import { indexByPath, sameAttrs, sameContent } from '../../core/domain/swap-entry.ts';
import { ancestorsOf, brokenAncestor, withoutShadowed, type HostEntry } from '../../core/domain/swap-drift.ts';
import { depth, isUnder } from '../../core/domain/swap-delta.ts';
import { dirsToEmpty, namesWrittenSince, stayingWithRuntimeState } from '../../core/domain/rollback-move-aside.ts';
import { isRuntimeState } from '../sandbox/sandbox-edits.ts';
import { probeWrittenSince } from './rollback-written-since.ts';
import type { Change } from '../../core/domain/swap-plan.ts';
import { loadMap } from '../store/map-store.ts';
import type { SwapHost } from './swap-host.ts';
import { loadRecord, type SwapRecord } from './swap-record.ts';
import { objectFile } from './transaction.ts';

const looksSame = (a: Entry | null | undefined, b: Entry | null) =>
  !a || !b ? !a && !b : a.type === 'dir' && b.type === 'dir' ? sameAttrs(a, b) : sameContent(a, b) && sameAttrs(a, b);

/** What reverting one transaction takes: its changes as the host has them now, and what stays. */
export interface RevertPlan {
  /** The reverted transaction's head: the maps it went between, its filesystems. */
  reverts: Pick<SwapRecord, 'txid' | 'beforeMap' | 'afterMap' | 'mounts'>;
  changes: Change[];
  parents: Map<string, { now: Entry; wantMtimeNs: string } | null>;
  rejoin: Record<string, string>;
  kept: string[];
  /** What the host wrote since in directories the transaction made, and the transaction's paths there it changed: taken out. */
  takenOut: string[];
}

/**
 * Plans the revert of transaction `txid`. Its record (tens of megabytes for a release upgrade) and the
 * probe of the host are this function's alone: they are garbage once it returns, before the plan is built.
 */
export async function planRevert(host: SwapHost, store: string, txid: string): Promise<RevertPlan> {
  const t = await loadRecord(host, store, txid);
  const paths = new Set([...t.changes.map((c) => c.path), ...Object.keys(t.parentTimes), ...Object.values(t.rejoin ?? {})]);
  for (const p of ancestorsOf(t.changes.map((c) => c.path))) paths.add(p);
  // what the transaction left at a path it wrote below: its own change, else the directory it wrote in
  const left = new Map(t.changes.map((c) => [c.path, c.to]));
  const dirLeft = { type: 'dir' } as Entry;
  // what the transaction left: a file whose size and mtime still match is not re-hashed
  const expected = new Map(t.changes.flatMap((c) => (c.to ? [[c.path, c.to] as const] : [])));
  // directories the transaction made (from nothing, a file or a symlink): what lives in them now?
  const made = new Set(t.changes.filter((c) => c.to?.type === 'dir' && c.from?.type !== 'dir').map((c) => c.path));
  const now = withoutShadowed(await host.probe({ paths: [...paths], expected, listChildren: made }));
  const broken = (p: string) => brokenAncestor(p, now, (a) => (left.has(a) ? left.get(a) : dirLeft)) !== null;
  // which undo slots still hold their object: one listing per area, not one query per path
  const undoLeft = await Promise.all(t.areas.map(async (a) => new Set(await host.list(join(a, 'undo')))));
  const changes: Change[] = [];
  let kept: string[] = [];
  let before: Map<string, Entry> | null | undefined;
  const entriesBefore = async () => (before !== undefined ? before
    : before = t.beforeMap ? await loadMap(store, t.beforeMap).then((m) => indexByPath(m.manifest), () => null) : null);
  for (const c of t.changes) {
    const cur = now.get(c.path) ?? null;
    const expected = c.to?.type === 'hardlink' ? (cur ? { ...cur, path: c.path } : null) : c.to;
    // changed on the host since (itself, or a directory above it): never reverted, nor written through
    if (!looksSame(cur, expected) || broken(c.path)) {
      kept.push(c.path);
      continue;
    }
    const change: Change = { path: c.path, from: cur, to: c.from };
    if (c.from?.type === 'file') {
      const slot = c.undo ?? t.undo?.[c.path];
      const q = t.rejoin?.[c.path];
      const qNow = q === undefined ? undefined : now.get(q);
      // (the map before is read only for a shared inode whose undo slot is gone: it is a whole map)
      const linkTo = async () => ((c.from as HostEntry).nlink ?? 1) > 1 ? (await entriesBefore())?.get(c.path)?.linkTo : undefined;
      let leader: string | undefined;
      if (slot && undoLeft[slot.area]?.has(String(slot.n))) {
        change.source = { kind: 'host-link', hostPath: join(t.areas[slot.area]!, 'undo', String(slot.n)) };
      } else if (q !== undefined && qNow && !left.has(q) && sameContent(qNow, c.from) && sameAttrs(qNow, c.from)) {
        // its slot was dropped after the commit: the old inode is still in the tree, under q
        change.to = { ...c.from, type: 'hardlink', linkTo: q };
      } else if ((leader = await linkTo()) !== undefined && !kept.includes(leader)) {
        // its old inode is gone with the undo area: it joins its link group again (the map before the
        // transaction says which), through its leader, put back just before it
        change.to = { ...c.from, type: 'hardlink', linkTo: leader };
      } else if (await access(objectFile(store, c.from.sha256!)).then(() => true, () => false)) {
        change.source = { kind: 'store', sha256: c.from.sha256!, size: c.from.size };
      } else {
        throw new UnderstudyError('store-corrupt', `the pre-swap content of ${displayKey(c.path)} is neither in the undo area nor in the store`);
      }
    }
    changes.push(change);
  }
  // what the host wrote since in a directory the transaction made goes out with it, and so do the
  // transaction's own paths there that the host changed
  const emptied = dirsToEmpty(made, now, isRuntimeState, broken);
  const takenOut: string[] = [];
  if (emptied.length) {
    const found = await probeWrittenSince(host, namesWrittenSince(emptied, new Set(left.keys()), now));
    const stay = stayingWithRuntimeState(found, isRuntimeState);
    for (const [path, e] of found) if (!stay.has(path)) { changes.push({ path, from: e, to: null }); takenOut.push(path); }
    const inEmptied = (p: string) => emptied.some((d) => isUnder(p, d));
    const from = new Map(t.changes.map((c) => [c.path, c.from]));
    kept = kept.filter((p) => {
      if (!inEmptied(p)) return true;
      const cur = now.get(p);
      // below something the host put in place of the transaction's directory: not in the tree as ours
      if (!cur || broken(p)) return false;
      changes.push({ path: p, from: cur, to: from.get(p) ?? null });
      takenOut.push(p);
      return false;
    });
  }
  // such a directory goes away again only when everything in it does: what the host put there since
  // and keeps (runtime state), or what is kept below it, stays, and the directory with it (deepest
  // first, so that propagates up)
  const reverted = new Set(changes.map((c) => c.path));
  for (const d of [...made].sort((a, b) => depth(b) - depth(a))) {
    if (!reverted.has(d) || (now.get(d)?.children ?? []).every((k) => reverted.has(k))) continue;
    reverted.delete(d);
    kept.push(d);
  }
  const parents = new Map<string, { now: Entry; wantMtimeNs: string } | null>();
  for (const [p, mtime] of Object.entries(t.parentTimes)) {
    const e = now.get(p);
    if (e?.type === 'dir') parents.set(p, { now: e, wantMtimeNs: mtime });
  }
  // putting back a member's own inode leaves its group's inode with a name outside the rollback
  const rejoin: Record<string, string> = {};
  for (const c of t.changes) {
    const from = now.get(c.path);
    if (c.to?.type === 'hardlink' && from && (from.nlink ?? 1) > 1 && reverted.has(c.path) && !reverted.has(c.to.linkTo!)) rejoin[c.path] = c.to.linkTo!;
  }
  return { reverts: { txid: t.txid, beforeMap: t.beforeMap, afterMap: t.afterMap, mounts: t.mounts },
    changes: changes.filter((c) => reverted.has(c.path)), parents, rejoin, kept, takenOut };
}
