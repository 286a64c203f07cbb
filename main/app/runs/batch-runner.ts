// Runs a fleet: the pure batch plan decides who starts and when to stop; each host is an ordinary run
// (recorded in the run store) with stage services of its own. Hosts whose rehearsal would be the same
// (core/workflow/shared-rehearsal.ts: same plan and map1) share its result through the batch's board.
// With fleet sharing (fleet-sharing.ts), a survey first captures every host and groups them by what an
// upgrade of packages depends on (fleet-survey.ts), before anything boots: each group's representative
// (its first host, the canary when it has one) rehearses, and every other member takes that rehearsal
// only where it verifies path by path against its own map1, else rehearses on its own.
//
// The batch itself is recorded too (run-store/batch-store.ts), as it goes: its request, the scheduler
// state, each host's run id (chosen and saved before the run exists) and each finished host's report.
// resumeBatch continues a batch whose orchestrator died: finished hosts are not redone, hosts that were
// running continue through the per-run resume, the rest start under the saved canary/parallel/max-fail.
//
// On a pool of hypervisors (docs/pool.md) the batch starts as many runs as the pool has sandbox slots
// (at least --parallel): groups and distinct map1s rehearse side by side, and swaps still go --parallel at a
// time (swap-gate.ts). A host whose sandbox's member was lost (error hypervisor-lost) goes back in the
// queue once, with that member avoided; its report keeps the attempt that was lost. The attempt is saved
// with the batch, so a resumed batch neither retries that host again nor forgets the member to avoid.
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { StageServices } from '../../core/workflow/stage-services.ts';
import type { RunInput, RunKind } from '../../core/workflow/run-types.ts';
import type { RunResult } from '../../core/workflow/run-result.ts';
import {
  batchDone, batchSummary, canRequeue, hostFinished, hostInterrupted, hostRequeued, newBatch, startNext, type BatchOptions, type BatchState,
} from '../../core/workflow/batch-plan.ts';
import { placementOf, type HostPlacement } from './host-placement.ts';
import { SwapGate, gatedSwaps } from './swap-gate.ts';
import { RehearsalBoard, sharedRehearsal, type RehearsalKey } from '../../core/workflow/shared-rehearsal.ts';
import type { HostGroup } from '../../core/domain/fleet-groups.ts';
import type { RehearsalShare } from '../../core/workflow/rehearsal-share.ts';
import { fleetRehearsalKey, fromSurvey, surveyFleet, surveyedHost } from './fleet-survey.ts';
import type { FleetSharing } from './fleet-sharing.ts';
import { RunService } from './run-service.ts';
import type { RunStore } from '../run-store/run-store.ts';
import { BatchStore, type RequeuedAttempt, type StoredSurvey } from '../run-store/batch-store.ts';
import type { FleetHost } from './fleet-file.ts';
import type { RunHandle, RunListener } from './runner.ts';
import { newRunId } from './run-id.ts';
import { continuation, resumableBatch, savedState } from './batch-resume.ts';

interface Common {
  store: RunStore;
  /** A new StageServices for one run (called once per run: nothing of a run's state is shared). */
  services(input: RunInput): StageServices;
  /** Which runs share a rehearsal (default: same plan, map1 and sandbox options). */
  rehearsalKey?: RehearsalKey;
  /** Describe and verify hosts so that different hosts of one group share (default: identical map1s only). */
  fleetSharing?: FleetSharing;
  /** The survey grouped the hosts, before any of them started (also when a resumed batch had one saved). */
  onSurvey?(batchId: string, survey: StoredSurvey): void;
  /** One host of the survey was captured (or not). */
  onSurveyHost?(batchId: string, target: string, outcome: { map1: string } | { error: string }): void;
  listener?: RunListener;
  onProgress?(state: BatchState): void;
  /** A host finished (after its report is recorded). */
  onHostDone?(batchId: string, report: HostReport): void;
  /** A host goes back in the queue (its hypervisor was lost). */
  onRequeue?(batchId: string, target: string, why: string): void;
  /** How many sandboxes may run at once (a pool's capacity); the batch starts that many runs, at least --parallel. */
  sandboxSlots?(): number;
  signal?: AbortSignal;
}

export interface BatchRequest extends Common {
  hosts: FleetHost[];
  options: BatchOptions;
  kind: RunKind;
  /** Approve every host's review (required for kind 'upgrade': nobody is asked per host). */
  yes: boolean;
  adapterOptions?: Record<string, unknown>;
  /** The batch's id (default: a new one). */
  batchId?: string;
  /** Where the fleet file was read from (recorded for the operator). */
  fleet?: string;
  /** Told the batch's id once it is recorded, before any host starts. */
  onStart?(batchId: string): void;
  /** false: every host rehearses in a sandbox of its own (default true). */
  sharing?: boolean;
}

export interface ResumeBatchRequest extends Common { batchId: string; onStart?(batchId: string): void }

/** What a batch was started with, as saved in the run store. */
export interface SavedBatchRequest {
  hosts: FleetHost[]; options: BatchOptions; kind: RunKind; yes: boolean; adapterOptions: Record<string, unknown>; fleet?: string;
  /** false: sharing was turned off (absent in batches from before it could be). */
  sharing?: boolean;
}

export interface HostReport extends HostPlacement {
  target: string; run?: string; outcome: string; exitCode: number; result?: RunResult; error?: string;
  /** The content id of the map1 the survey took, and the index of the host's group. */
  content?: string; group?: number;
  /** Its own sandbox, or whose rehearsal it took and what was verified, merged and kept. */
  rehearsal?: RehearsalShare;
}

export interface BatchResult extends Omit<ReturnType<typeof batchSummary>, 'hosts'> {
  batch: string;
  /** The batch was interrupted (Ctrl-C) before every host finished: resume it later. */
  interrupted?: boolean;
  /** Hosts whose interrupted run this process resumed (resumeBatch only). */
  resumed: string[];
  /** Rehearsals this process ran (shared ones count once). */
  rehearsals: number;
  /** Whether hosts shared rehearsals; the survey's groups and what it took. */
  sharing: boolean;
  groups: HostGroup[];
  survey?: { seconds: number; failed: Array<{ target: string; error: string }> };
  hosts: HostReport[];
}

export async function runBatch(req: BatchRequest): Promise<BatchResult> {
  if (req.kind === 'upgrade' && !req.yes) {
    throw new UnderstudyError('usage', 'a batch upgrade needs --yes (nobody is asked per host); rehearse the fleet first with --rehearse');
  }
  const st = newBatch(req.hosts.map((h) => h.target), req.options);
  const id = req.batchId ?? newRunId();
  const saved: SavedBatchRequest = {
    hosts: req.hosts, options: req.options, kind: req.kind, yes: req.yes, adapterOptions: req.adapterOptions ?? {}, ...(req.fleet ? { fleet: req.fleet } : {}),
    ...(req.sharing === false ? { sharing: false } : {}),
  };
  const batches = new BatchStore(req.store);
  batches.create(id, req.kind, saved, st);
  req.onStart?.(id);
  return drive(req, { id, saved, batches }, st, new Map(), new Map(), new Map());
}

export async function resumeBatch(req: ResumeBatchRequest): Promise<BatchResult> {
  const batches = new BatchStore(req.store);
  const rec = resumableBatch(req.store, batches, req.batchId);
  if (!batches.claim(rec.id, rec.ownerPid)) throw new UnderstudyError('usage', `batch ${rec.id} was just resumed by another process`);
  req.onStart?.(rec.id);
  const reports = new Map(rec.hosts.filter((h) => h.report).map((h) => [h.target, h.report as unknown as HostReport]));
  const carried = new Map(rec.hosts.filter((h) => h.status === 'running').map((h) => [h.target, h.runId]));
  const requeued = new Map(rec.hosts.filter((h) => h.requeued?.length).map((h) => [h.target, h.requeued!]));
  return drive(req, { id: rec.id, saved: rec.request, batches, ...(rec.survey ? { survey: rec.survey } : {}) }, savedState(rec), reports, carried, requeued);
}

interface Batch { id: string; saved: SavedBatchRequest; batches: BatchStore; survey?: StoredSurvey }
type Finished = Promise<{ target: string; report: HostReport }>;

/** `requeued`: each host's earlier attempts put back in the queue (saved with the batch), by target. */
async function drive(req: Common, b: Batch, initial: BatchState, reports: Map<string, HostReport>,
  carried: Map<string, string | undefined>, requeued: Map<string, RequeuedAttempt[]>): Promise<BatchResult> {
  const sharing = b.saved.sharing !== false;
  const survey = b.survey ?? (sharing && req.fleetSharing && !req.signal?.aborted ? await takeSurvey(req, b, req.fleetSharing) : undefined);
  if (survey) req.onSurvey?.(b.id, survey);
  const board = new RehearsalBoard(fleetRehearsalKey(survey, sharing, req.rehearsalKey), req.fleetSharing?.verify);
  const gate = new SwapGate(b.saved.options.parallel);
  const svc = new RunService({
    store: req.store, services: (input) => gatedSwaps(sharedRehearsal(fromSurvey(req.services(input), survey), board, input), gate),
  });
  const unsubscribe = req.listener ? svc.subscribe(req.listener) : () => {};
  const byTarget = new Map(b.saved.hosts.map((h) => [h.target, h]));
  /** Pool members a requeued host's next run keeps away from: those its earlier attempts lost. */
  const avoid = (target: string) => (requeued.get(target) ?? []).flatMap((a) => (a.member ? [a.member] : []));
  const running = new Map<string, Finished>();
  const runIds = new Map<string, string>();
  const resumed: string[] = [];
  const usedIds = new Set<string>();
  const freshId = () => { let id; do id = newRunId(); while (usedIds.has(id) || req.store.get(id)); usedIds.add(id); return id; };
  const onAbort = () => { for (const id of runIds.values()) { try { svc.cancel(id, 'batch interrupted'); } catch { /* finished */ } } };
  req.signal?.addEventListener('abort', onAbort, { once: true });

  let st = initial;
  try {
    for (const [target, runId] of carried) running.set(target, carry(target, runId));
    if (req.signal?.aborted) onAbort(); // interrupted before the listener could hear it
    for (;;) {
      if (!req.signal?.aborted) {
        const next = startNext(st, req.sandboxSlots?.() ?? st.options.parallel);
        st = next.state;
        if (next.start.length) {
          const ids = next.start.map((target) => ({ target, runId: freshId() }));
          b.batches.saveState(b.id, st, ids); // the run id is on record before the run exists
          for (const { target, runId } of ids) running.set(target, launch(target, runId));
        }
      }
      req.onProgress?.(st);
      if (running.size === 0) break;
      const done = await Promise.race(running.values());
      const target = done.target;
      let report = done.report;
      running.delete(target);
      const finishedRun = runIds.get(target);
      if (finishedRun) gate.leave(finishedRun);
      runIds.delete(target);
      if (req.signal?.aborted && report.outcome === 'cancelled') {
        st = hostInterrupted(st, target);
        b.batches.saveState(b.id, st);
        continue;
      }
      const lost = report.result?.error?.code === 'hypervisor-lost';
      if (lost && !req.signal?.aborted && canRequeue(st, target)) {
        // its sandbox's member went away: once more, elsewhere (the member is avoided while another is up)
        const member = report.result?.placement?.member;
        requeued.set(target, [...(requeued.get(target) ?? []), { run: report.run!, ...(member ? { member } : {}), error: report.result!.error!.message }]);
        st = hostRequeued(st, target);
        b.batches.saveState(b.id, st, [{ target, requeued: requeued.get(target) }]);
        try { req.onRequeue?.(b.id, target, report.result!.error!.message); } catch { /* reporting only */ }
        continue;
      }
      const full: HostReport = { ...report, ...placementOf(report.result), ...(requeued.has(target) ? { requeued: requeued.get(target) } : {}) };
      reports.set(target, full);
      report = full;
      st = hostFinished(st, target, report.exitCode === 0, report.outcome);
      b.batches.saveState(b.id, st, [{ target, report }]);
      try { req.onHostDone?.(b.id, report); } catch { /* a reporting failure must not stop the fleet */ }
    }
  } finally {
    req.signal?.removeEventListener('abort', onAbort);
    unsubscribe();
    await svc.close();
  }
  const { hosts: _h, ...summary } = batchSummary(st);
  const interrupted = !batchDone(st);
  if (!interrupted) b.batches.finish(b.id, summary.ok);
  return {
    batch: b.id, ...summary, ...(interrupted ? { ok: false, interrupted } : {}), resumed,
    rehearsals: board.rehearsals(), sharing, groups: survey?.groups ?? [],
    ...(survey ? { survey: { seconds: survey.seconds, failed: survey.failed } } : {}),
    hosts: st.hosts.map((h) => reports.get(h.target) ?? { target: h.target, outcome: h.status, exitCode: 1 }),
  };

  /** A host that was running when the previous orchestrator died. */
  function carry(target: string, runId: string | undefined): Finished {
    const c = runId ? continuation(req.store, target, runId) : { kind: 'start' as const };
    if (c.kind === 'finished') return Promise.resolve({ target, report: c.report });
    if (c.kind === 'resume') return follow(target, runId!, () => { const h = svc.resume(runId!); resumed.push(target); return h; });
    let id = runId ?? freshId();
    if (c.kind === 'restart') {
      id = freshId();
      b.batches.saveState(b.id, st, [{ target, runId: id }]);
    }
    return launch(target, id);
  }

  function launch(target: string, runId: string): Finished {
    const input = runInput(b.saved, byTarget.get(target)!, runId, avoid(target));
    // a group's representative rehearses for it: its entry is on the board before any member looks
    const h = surveyedHost(survey, target);
    if (sharing && h?.group?.representative === target && !board.get(board.key(input, h.map1))) board.open(board.key(input, h.map1), runId, target);
    return follow(target, runId, () => svc.startRun(b.saved.kind, input, runId));
  }

  function follow(target: string, runId: string, begin: () => RunHandle): Finished {
    const h = surveyedHost(survey, target);
    const fleetFacts = { ...(h ? { content: h.content } : {}), ...(h?.index !== undefined ? { group: h.index } : {}) };
    const failed = (err: unknown) => ({ target, report: { target, run: runId, outcome: 'failed', exitCode: 1, ...fleetFacts, error: err instanceof Error ? err.message : String(err) } });
    // a run that ends before it rehearsed (preflight, capture) frees its group's rehearsal for a member
    const ended = <T>(v: T) => { board.release(runId, new UnderstudyError('internal', `run ${runId} (${target}) ended before its rehearsal`)); return v; };
    try {
      const handle = begin();
      runIds.set(target, runId);
      return handle.finished.then(ended, (err) => { ended(undefined); throw err; }).then((f) => ({ target, report: {
        target, run: runId, outcome: f.outcome, exitCode: f.exitCode, ...fleetFacts, ...(f.result.rehearsal ? { rehearsal: f.result.rehearsal } : {}), result: f.result,
      } }), failed);
    } catch (err) {
      return Promise.resolve(failed(err));
    }
  }
}

/** A host's run input in a batch (its plan, the batch's options; a requeued host keeps away from the pool members it lost). */
function runInput(saved: SavedBatchRequest, h: FleetHost, runId: string, avoidMembers?: string[]): RunInput {
  const options = avoidMembers?.length ? { ...saved.adapterOptions, avoidMembers } : saved.adapterOptions;
  return { runId, kind: saved.kind, target: h.target, command: h.command, checks: h.checks, health: h.health, reboot: h.reboot, yes: saved.yes, options };
}

/** Captures and groups every host before any run starts (each with its own stage services' capture); saved with the batch. */
async function takeSurvey(req: Common, b: Batch, fleet: FleetSharing): Promise<StoredSurvey | undefined> {
  try {
    const s = await surveyFleet({
      hosts: b.saved.hosts, parallel: b.saved.options.parallel, signal: req.signal,
      capture: async (h, signal) => {
        const input = runInput(b.saved, h as FleetHost, `survey-${b.id}`);
        const io = { runId: input.runId, signal: signal ?? new AbortController().signal, progress: () => {}, log: () => {} };
        return (await req.services(input).captureHost({ target: h.target, options: input.options }, io)).map1;
      },
      describe: (h, map1) => fleet.describe(h.target, map1, h),
      onHost: (target, outcome) => req.onSurveyHost?.(b.id, target, outcome),
    });
    const stored: StoredSurvey = { ...s, sharing: true };
    b.batches.saveSurvey(b.id, stored);
    return stored;
  } catch (err) {
    if (req.signal?.aborted) return undefined; // interrupted: no host started; resume surveys again
    throw err;
  }
}
