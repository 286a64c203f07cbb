// Runs one upgrade machine: provides the stage services, persists the snapshot after every transition,
// fans RunEvents out to listeners and the store, and resumes an interrupted run from its snapshot.
//
// Resume rule (core/workflow/resume-plan.ts): the restored snapshot re-enters the stage that was active
// when the process died, or rewinds to booting when that stage needed the sandbox, which died with the
// process; the stage's actor runs again from the start. Stage services must therefore be idempotent
// (see main/core/workflow/stage-services.ts). A stage that had finished but whose completion was not yet
// persisted runs again too, which the same rule covers.
import { createActor, type Actor } from 'xstate';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { RunEvent } from '../../core/domain/events.ts';
import { upgradeMachine, type MachineEvent, type UpgradeMachine } from '../../core/workflow/upgrade.machine.ts';
import { makeStageActors, type StageActorOptions } from '../../core/workflow/stage-actors.ts';
import { describeResume, resumeSnapshot, type PersistedRun } from '../../core/workflow/resume-plan.ts';
import type { StageServices } from '../../core/workflow/stage-services.ts';
import { exitCodeForOutcome, type Outcome, type RunContext, type RunInput } from '../../core/workflow/run-types.ts';
import { isFinalState, outcomeOfState, runResult, type RunResult } from '../../core/workflow/run-result.ts';
import type { RunStore } from '../run-store/run-store.ts';
import { stageEvents } from './stage-event-diff.ts';
import { otherOwnerRuns } from './process-alive.ts';

/** Everything a run tells its listeners: stage/progress/log events, then one final result. */
export type RunnerEvent = RunEvent | { type: 'result'; run: string; outcome: Outcome; exitCode: number; result: RunResult };
export type RunListener = (e: RunnerEvent) => void;

export interface RunFinish { outcome: Outcome; exitCode: number; result: RunResult }

export interface RunHandle {
  runId: string;
  actor: Actor<UpgradeMachine>;
  finished: Promise<RunFinish>;
  state(): string;
  send(e: MachineEvent): void;
}

export interface RunnerDeps {
  store: RunStore;
  services: StageServices;
  listener?: RunListener;
  actorOptions?: StageActorOptions;
}

export function startRun(deps: RunnerDeps, input: RunInput): RunHandle {
  deps.store.createRun({ id: input.runId, verb: input.kind, target: input.target, input, state: 'preflight' });
  return drive(deps, input.runId, (machine) => createActor(machine, { input }), undefined);
}

/**
 * Checks that a run can be resumed here; throws a clear error if not. Returns its saved snapshot, or
 * undefined when it died before the first one was written (then no stage had started: it starts afresh).
 */
export function resumableSnapshot(store: RunStore, runId: string): unknown {
  const rec = store.get(runId);
  if (!rec) throw new UnderstudyError('usage', `no run '${runId}' in the run store`);
  if (rec.outcome || isFinalState(rec.state)) {
    throw new UnderstudyError('usage', `run ${runId} already finished (${rec.outcome ?? rec.state}); nothing to resume`);
  }
  if (otherOwnerRuns(rec)) {
    throw new UnderstudyError('usage', `run ${runId} is still running in process ${rec.ownerPid}`);
  }
  return store.snapshot(runId);
}

export function resumeRun(deps: RunnerDeps, runId: string): RunHandle {
  const saved = resumableSnapshot(deps.store, runId) as PersistedRun | undefined;
  const rec = deps.store.get(runId)!;
  deps.store.claim(runId);
  const input = rec.input as unknown as RunInput;
  const plan = saved && resumeSnapshot(saved);
  const handle = plan
    ? drive(deps, runId, (machine) => createActor(machine, { snapshot: plan.snapshot as any, input }), plan.snapshot.context)
    : drive(deps, runId, (machine) => createActor(machine, { input }), undefined);
  const at = new Date().toISOString();
  emit(deps, { type: 'log', run: runId, stream: 'info', source: 'runner', text: plan ? describeResume(plan.note) : 'resumed at the start', at });
  if (!handle.actor.getSnapshot().status || handle.actor.getSnapshot().status === 'active') {
    emit(deps, { type: 'stage', run: runId, stage: handle.state(), state: 'active', at });
  }
  return handle;
}

function emit(deps: RunnerDeps, e: RunnerEvent): void {
  if (e.type !== 'result') {
    try { deps.store.appendEvent(e.run, e); } catch { /* a full disk must not kill the run; the listener still sees it */ }
  }
  deps.listener?.(e);
}

/** What the run's services still hold once it is over (see StageServices.leftovers). */
async function leftoversOf(deps: RunnerDeps, runId: string): Promise<string[]> {
  if (!deps.services.leftovers) return [];
  const io = {
    runId, signal: new AbortController().signal, progress: () => {},
    log: (stream: 'stdout' | 'stderr' | 'serial' | 'info', source: string, text: string) => emit(deps, { type: 'log', run: runId, stream, source, text, at: new Date().toISOString() }),
  };
  try { return await deps.services.leftovers(io); } catch (err) {
    return [`(the check for leftovers failed: ${err instanceof Error ? err.message : String(err)})`];
  }
}

function drive(deps: RunnerDeps, runId: string, create: (m: UpgradeMachine) => Actor<UpgradeMachine>,
  restoredContext: RunContext | undefined): RunHandle {
  const machine = upgradeMachine.provide({ actors: makeStageActors(deps.services, (e) => emit(deps, e), deps.actorOptions) });
  const actor = create(machine);
  let prev: RunContext | undefined = restoredContext;
  let resolve!: (f: RunFinish) => void;
  let reject!: (e: unknown) => void;
  const finished = new Promise<RunFinish>((res, rej) => { resolve = res; reject = rej; });
  let finishing: Promise<void> | undefined;

  actor.subscribe({
    next: (s) => {
      const state = String(s.value);
      const outcome = s.status === 'done' ? outcomeOfState(state) : undefined;
      const result = outcome ? runResult(s.context, state) : undefined;
      deps.store.saveTransition(runId, { state, snapshot: actor.getPersistedSnapshot(), timings: s.context.timings, outcome, result });
      for (const e of stageEvents(prev, s.context)) emit(deps, e);
      prev = s.context;
      if (outcome && result) finishing = finish(state, outcome, result);
    },
    // stopped from outside before a final state (process shutting down): nothing more will come
    complete: () => { if (!finishing) reject(new UnderstudyError('cancelled', `run ${runId} was stopped before it finished; resume it later`)); },
    error: (err) => {
      const message = err instanceof Error ? err.message : String(err);
      deps.store.saveTransition(runId, { state: 'failed', snapshot: null, timings: prev?.timings ?? {}, outcome: 'failed',
        result: { run: runId, outcome: 'failed', error: { code: 'internal', message } } });
      reject(new UnderstudyError('internal', `run ${runId} stopped on an engine error: ${message}`));
    },
  });
  /** The run is over: nothing of it may outlive it (a sandbox still held is a bug, destroyed and reported). */
  async function finish(state: string, outcome: Outcome, result: RunResult): Promise<void> {
    const leaked = await leftoversOf(deps, runId);
    if (leaked.length) {
      const message = `${leaked.join(', ')} outlived the run and was destroyed now (a bug in understudy)`;
      emit(deps, { type: 'log', run: runId, stream: 'stderr', source: 'runner', text: message, at: new Date().toISOString() });
      result = { ...result, cleanupError: result.cleanupError ? `${result.cleanupError}; ${message}` : message };
      deps.store.saveTransition(runId, { state, snapshot: actor.getPersistedSnapshot(), timings: actor.getSnapshot().context.timings, outcome, result });
    }
    const f = { outcome, exitCode: exitCodeForOutcome(outcome), result };
    emit(deps, { type: 'result', run: runId, ...f });
    resolve(f);
  }

  // Saved before start: starting invokes the first stage, and a crash right then must find a snapshot.
  const initial = actor.getSnapshot();
  deps.store.saveTransition(runId, { state: String(initial.value), snapshot: actor.getPersistedSnapshot(), timings: initial.context.timings });
  actor.start();
  return {
    runId, actor, finished,
    state: () => String(actor.getSnapshot().value),
    send: (e) => actor.send(e),
  };
}
