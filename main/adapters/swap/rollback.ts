// Rollback: a new journaled transaction that puts back what an earlier one changed (planned in
// rollback-plan.ts). Paths the host changed after that transaction are left as they are, except in a
// directory the transaction made: what the host wrote there since goes out with it, into the rollback's
// own undo area (core/domain/rollback-move-aside.ts). A rollback is a transaction like any other, so it
// can be recovered and rolled back itself.
import { join } from 'node:path';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { topmost } from '../../core/domain/rollback-move-aside.ts';
import type { SwapHost } from './swap-host.ts';
import { assertRecovered, listRecords, newTxid, readHostTxs, type SwapRecordHead } from './swap-record.ts';
import { runTransaction, type TxStats } from './transaction.ts';
import { planRevert } from './rollback-plan.ts';
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

async function revert(host: SwapHost, store: string, head: SwapRecordHead, agentEnv?: Record<string, string>): Promise<RollbackResult> {
  const started = performance.now();
  const { reverts: t, changes, parents, rejoin, kept, takenOut } = await planRevert(host, store, head.txid);
  const txid = newTxid('rollback');
  const stats = await runTransaction({
    host, store, changes, parents, rejoin, agentEnv,
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
