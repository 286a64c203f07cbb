// Rollback: a new journaled transaction that puts back what an earlier one changed — the old objects
// come from that transaction's undo area (hardlinked: same inode, same metadata, no copy) or from the
// store when the undo area is gone. Paths the host changed after that transaction are left as they are,
// except in a directory the transaction made: what the host wrote there since goes out with it, into the
// rollback's own undo area (core/domain/rollback-move-aside.ts).
// A rollback is a transaction like any other, so it can be recovered and rolled back itself.
import { join } from 'node:path';
import { access } from 'node:fs/promises';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { Entry } from '../../core/domain/manifest.ts';
import { displayKey } from '../../core/domain/path-key.ts';
import { indexByPath, sameAttrs, sameContent } from '../../core/domain/swap-entry.ts';
import { ancestorsOf, brokenAncestor, withoutShadowed, type HostEntry } from '../../core/domain/swap-drift.ts';
import { loadMap } from '../store/map-store.ts';
import { depth, isUnder } from '../../core/domain/swap-delta.ts';
import { dirsToEmpty, namesWrittenSince, stayingWithRuntimeState, topmost } from '../../core/domain/rollback-move-aside.ts';
import { isRuntimeState } from '../sandbox/sandbox-edits.ts';
import { probeWrittenSince } from './rollback-written-since.ts';
import type { Change } from '../../core/domain/swap-plan.ts';
import type { SwapHost } from './swap-host.ts';
import { assertRecovered, listRecords, loadRecord, newTxid, readHostTxs, type SwapRecordHead } from './swap-record.ts';
import { objectFile, runTransaction, type TxStats } from './transaction.ts';
import { withHostLock } from './host-lock.ts';

export interface RollbackRequest {
  host: SwapHost;
  store: string;
  /** A map id (roll back until the host is that map again) or a transaction id. */
  to?: string;
  agentEnv?: Record<string, string>;
}

export interface RollbackResult extends TxStats {
  restoredMap?: string;
  reverted: string;
  /** The transaction's paths the host changed since, left as they are. */
  kept: string[];
  /** What the host wrote since in directories the transaction made, taken out with them (topmost paths). */
  takenOut: string[];
  /** How many paths that is in all, and where they are kept (a rollback of this rollback puts them back). */
  takenOutCount: number;
  undoAreas: string[];
}

const committedJournal = (j = '') => /^commit/m.test(j);

/** Committed transactions not yet reverted, newest first (records and journals: one read of the host). */
export async function revertible(host: SwapHost, store: string): Promise<SwapRecordHead[]> {
  const onHost = await readHostTxs(host);
  // which is the newest is unknowable while one is half done: recover first (needs-recovery)
  assertRecovered(host, onHost);
  // the host's journal says; a transaction the host has no trace of (its work area was wiped) counts as
  // the store's copy of its record says
  const committed = (await listRecords(host, store, onHost)).filter((r) => {
    const tx = onHost.get(r.txid);
    return tx ? committedJournal(tx.journal) : r.outcome === 'committed';
  });
  const reverted = new Set(committed.map((r) => r.reverts).filter(Boolean));
  return committed.filter((r) => !reverted.has(r.txid)).reverse();
}

const looksSame = (a: Entry | null | undefined, b: Entry | null) =>
  !a || !b ? !a && !b : a.type === 'dir' && b.type === 'dir' ? sameAttrs(a, b) : sameContent(a, b) && sameAttrs(a, b);

async function revert(host: SwapHost, store: string, head: SwapRecordHead, agentEnv?: Record<string, string>): Promise<RollbackResult> {
  const started = performance.now();
  const t = await loadRecord(host, store, head.txid);
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
  // which undo slots still hold their object: one listing per area, not one query per path
  const broken = (p: string) => brokenAncestor(p, now, (a) => (left.has(a) ? left.get(a) : dirLeft)) !== null;
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
      const slot = t.undo[c.path];
      const linkTo = ((c.from as HostEntry).nlink ?? 1) > 1 ? (await entriesBefore())?.get(c.path)?.linkTo : undefined;
      const q = t.rejoin?.[c.path];
      const qNow = q === undefined ? undefined : now.get(q);
      if (slot && undoLeft[slot.area]?.has(String(slot.n))) {
        change.source = { kind: 'host-link', hostPath: join(t.areas[slot.area]!, 'undo', String(slot.n)) };
      } else if (q !== undefined && qNow && !left.has(q) && sameContent(qNow, c.from) && sameAttrs(qNow, c.from)) {
        // its slot was dropped after the commit: the old inode is still in the tree, under q
        change.to = { ...c.from, type: 'hardlink', linkTo: q };
      } else if (linkTo !== undefined && !kept.includes(linkTo)) {
        // its old inode is gone with the undo area: it joins its link group again (the map before the
        // transaction says which), through its leader, put back just before it
        change.to = { ...c.from, type: 'hardlink', linkTo };
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
  const txid = newTxid('rollback');
  // putting back a member's own inode leaves its group's inode with a name outside the rollback
  const rejoin: Record<string, string> = {};
  for (const c of t.changes) {
    const from = now.get(c.path);
    if (c.to?.type === 'hardlink' && from && (from.nlink ?? 1) > 1 && reverted.has(c.path) && !reverted.has(c.to.linkTo!)) rejoin[c.path] = c.to.linkTo!;
  }
  const stats = await runTransaction({
    host, store, changes: changes.filter((c) => reverted.has(c.path)), parents, rejoin, agentEnv,
    record: { version: 1, txid, kind: 'rollback', target: host.target, createdAt: new Date().toISOString(),
      reverts: t.txid, beforeMap: t.afterMap, afterMap: t.beforeMap, restoredMap: t.beforeMap, mounts: t.mounts },
  });
  if (stats.outcome === 'aborted') throw new UnderstudyError('io', `the rollback failed on the host and was undone: ${stats.error ?? ''}`, { txid });
  const driftSeconds = (performance.now() - started) / 1000 - stats.seconds;
  const undoAreas = takenOut.length ? t.mounts.map((m) => join(host.areaDir(m, txid), 'undo')) : [];
  return { ...stats, phases: stats.phases && { driftSeconds, ...stats.phases }, restoredMap: t.beforeMap, reverted: t.txid, kept,
    takenOut: topmost(takenOut), takenOutCount: takenOut.length, undoAreas };
}

/** Reverts the newest transaction, or, with `to`, every newer one until the host is that map (or tx) again. */
export function rollbackLatest(req: RollbackRequest): Promise<RollbackResult> {
  return withHostLock(req.host, () => rollbackHeld(req));
}

/** rollbackLatest for a caller that holds the host's lock already (a swap whose health check failed). */
export async function rollbackHeld(req: RollbackRequest): Promise<RollbackResult> {
  const stack = await revertible(req.host, req.store);
  if (!stack.length) throw new UnderstudyError('usage', `nothing to roll back on ${req.host.target}: no committed swap`);
  let upto = 0;
  if (req.to) {
    upto = stack.findIndex((r) => r.txid === req.to || r.beforeMap === req.to || (r.beforeMap?.startsWith(req.to!) && req.to!.length >= 8));
    if (upto < 0) throw new UnderstudyError('usage', `no swap on ${req.host.target} can take it back to ${req.to}`);
  }
  let last: RollbackResult | undefined;
  const started = performance.now();
  let files = 0;
  const takenOut: string[] = [], undoAreas: string[] = [];
  let takenOutCount = 0;
  for (let i = 0; i <= upto; i++) {
    last = await revert(req.host, req.store, stack[i]!, req.agentEnv);
    files += last.files;
    takenOut.push(...last.takenOut); undoAreas.push(...last.undoAreas); takenOutCount += last.takenOutCount;
  }
  return { ...last!, files, takenOut, takenOutCount, undoAreas, seconds: (performance.now() - started) / 1000 };
}
