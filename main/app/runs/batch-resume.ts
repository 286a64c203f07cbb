// Resuming a batch whose orchestrator died: which batch, whether it may be resumed here, and what to do
// with each host that was running then (its run is resumed through the ordinary per-run resume).
import { UnderstudyError } from '../../core/domain/errors.ts';
import { exitCodeForOutcome, type Outcome } from '../../core/workflow/run-types.ts';
import type { BatchState } from '../../core/workflow/batch-plan.ts';
import type { RunStore } from '../run-store/run-store.ts';
import type { BatchRecord, BatchStore } from '../run-store/batch-store.ts';
import { otherOwnerRuns } from './process-alive.ts';
import type { HostReport, SavedBatchRequest } from './batch-runner.ts';

/** Resolves a batch id (or unique prefix) to a batch that can be resumed by this process, or says why not. */
export function resumableBatch(runs: RunStore, batches: BatchStore, idOrPrefix: string): BatchRecord<SavedBatchRequest> {
  const ids = batches.match(idOrPrefix);
  if (ids.length !== 1) {
    throw new UnderstudyError('usage', ids.length === 0 ? `no batch '${idOrPrefix}' in the run store`
      : `'${idOrPrefix}' matches more than one batch; give more of the id`);
  }
  const rec = batches.get<SavedBatchRequest>(ids[0]!)!;
  if (rec.finishedAt) {
    throw new UnderstudyError('usage', `batch ${rec.id} already finished (${rec.ok ? 'ok' : rec.stopped ?? 'with failures'}); nothing to resume`);
  }
  if (otherOwnerRuns(rec)) {
    throw new UnderstudyError('usage', `batch ${rec.id} is still running in process ${rec.ownerPid}`);
  }
  for (const h of rec.hosts) {
    const run = h.status === 'running' && h.runId ? runs.get(h.runId) : undefined;
    if (run && !run.outcome && otherOwnerRuns(run)) {
      throw new UnderstudyError('usage', `run ${run.id} (host ${h.target}) of batch ${rec.id} is running in process ${run.ownerPid}; let it finish first`);
    }
  }
  return rec;
}

/** The scheduler state as it was saved (a host's retries: its attempts put back in the queue). */
export function savedState(rec: BatchRecord<SavedBatchRequest>): BatchState {
  return {
    options: rec.request.options,
    hosts: rec.hosts.map((h) => ({
      target: h.target, status: h.status, ...(h.outcome ? { outcome: h.outcome } : {}), ...(h.requeued?.length ? { retries: h.requeued.length } : {}),
    })),
    ...(rec.stopped ? { stopped: rec.stopped } : {}),
  };
}

/** What to do with a host that was running when the batch's orchestrator died. */
export type Continuation =
  | { kind: 'start' }                       // its run was never created: start it under the recorded id
  | { kind: 'finished'; report: HostReport } // its run finished (the batch died before recording it)
  | { kind: 'resume' }                      // re-enter the interrupted stage (per-run resume)
  | { kind: 'restart'; why: string }; // its run cannot continue: a fresh run for the host

export function continuation(runs: RunStore, target: string, runId: string): Continuation {
  const rec = runs.get(runId);
  if (!rec) return { kind: 'start' };
  if (rec.outcome === 'cancelled') {
    // only the batch cancels its runs (when interrupted); it died before putting the host back to pending
    return { kind: 'restart', why: `run ${runId} was cancelled when the batch was interrupted` };
  }
  if (rec.outcome) {
    const outcome = rec.outcome as Outcome;
    return { kind: 'finished', report: { target, run: runId, outcome, exitCode: exitCodeForOutcome(outcome), ...(rec.result ? { result: rec.result as never } : {}) } };
  }
  // a follower of a shared rehearsal resumes too: it rewinds to where it joined the batch's rehearsal
  // (core/workflow/resume-plan.ts), as an owner rewinds to a new sandbox
  return { kind: 'resume' };
}

/**
 * An unfinished batch over the same hosts and plan, if any: starting a new batch over it would redo the
 * hosts it already upgraded, so the batch verb points the operator to resuming it instead.
 */
export function unfinishedBatchFor(batches: BatchStore, hosts: SavedBatchRequest['hosts'], kind: string): BatchRecord<SavedBatchRequest> | undefined {
  const same = JSON.stringify(hosts);
  for (const id of batches.unfinished()) {
    const rec = batches.get<SavedBatchRequest>(id)!;
    if (rec.kind === kind && JSON.stringify(rec.request.hosts) === same) return rec;
  }
  return undefined;
}
