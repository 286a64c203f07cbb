// A rollback from the UI: a run of its own (verb 'rollback', rollbackOf = the upgrade run) that calls the
// engine's rollback service — put map1 back over what the swap changed — with timings, logs and outcome
// recorded in the run store like any other run.
import { isUnderstudyError } from '../core/domain/errors.ts';
import type { RunEvent } from '../core/domain/events.ts';
import type { StageServices } from '../core/workflow/stage-services.ts';
import type { RebootPolicy } from '../core/workflow/run-types.ts';
import type { RunStore } from '../app/run-store/run-store.ts';
import { newRunId } from '../app/runs/run-id.ts';


export interface RollbackDeps {
  runs: RunStore;
  services: StageServices;
  emit(e: RunEvent): void;
  updated(runId: string): void;
}

/** Starts the rollback and returns its run id at once; `done` settles when it finished. */
export function startRollback(deps: RollbackDeps, of: { id: string; target: string; map1: string; reboot: RebootPolicy }, signal: AbortSignal): { run: string; done: Promise<void> } {
  const id = newRunId();
  const stage = 'rolling-back';
  const startedAt = new Date().toISOString();
  deps.runs.createRun({ id, verb: 'rollback', target: of.target, state: stage, input: { kind: 'rollback', target: of.target, rollbackOf: of.id, map1: of.map1 } });
  deps.runs.saveTransition(id, { state: stage, snapshot: null, timings: { [stage]: { startedAt, attempts: 1 } } });
  const emit = (e: RunEvent) => {
    if (e.type !== 'progress') { try { deps.runs.appendEvent(id, e); } catch { /* live listeners still get it */ } }
    deps.emit(e);
  };
  emit({ type: 'stage', run: id, stage, state: 'active', at: startedAt });
  deps.updated(id);

  const done = (async () => {
    const t0 = Date.now();
    let outcome = 'rolled-back';
    let error: { code: string; message: string } | undefined;
    try {
      await deps.services.rollback({ target: of.target, map1: of.map1, reboot: of.reboot }, {
        runId: id, signal,
        progress: (p) => emit({ type: 'progress', run: id, stage, ...p }),
        log: (stream, source, text) => emit({ type: 'log', run: id, stream, source, text, at: new Date().toISOString() }),
      });
    } catch (err) {
      error = { code: isUnderstudyError(err) ? err.code : 'internal', message: err instanceof Error ? err.message : String(err) };
      outcome = error.code === 'needs-recovery' ? 'needs-recovery' : signal.aborted ? 'cancelled' : 'failed';
    }
    const seconds = (Date.now() - t0) / 1000;
    deps.runs.saveTransition(id, {
      state: outcome, snapshot: null, timings: { [stage]: { startedAt, seconds, attempts: 1 } }, outcome,
      result: { run: id, outcome, restoredMap: of.map1, rollbackOf: of.id, seconds, ...(error ? { error: { ...error, stage } } : {}) },
    });
    emit({ type: 'stage', run: id, stage, state: error ? (outcome === 'cancelled' ? 'cancelled' : 'failed') : 'done', at: new Date().toISOString(), seconds, ...(error ? { error } : {}) });
    deps.updated(id);
  })();
  return { run: id, done };
}
