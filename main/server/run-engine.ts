// The EngineFacade over the real workflow: the run store (SQLite) and the runner (xstate machine with
// the StageServices the composition root provides). Runs started here are driven in this process;
// their events fan out to every connected face.
import type { Assessment, ConflictChoice, HostInfo, MapInfo, RunRequest } from '../contract/index.ts';
import { UnderstudyError } from '../core/domain/errors.ts';
import type { RunEvent } from '../core/domain/events.ts';
import type { RunContext, RunInput } from '../core/workflow/run-types.ts';
import type { StageServices } from '../core/workflow/stage-services.ts';
import type { StageActorOptions } from '../core/workflow/stage-actors.ts';
import type { RunRecord, RunStore } from '../app/run-store/run-store.ts';
import { startRun, type RunHandle } from '../app/runs/runner.ts';
import type { EngineFacade, EngineListener } from './engine-facade.ts';
import { newRunId, startRollback } from './rollback-run.ts';
import { detailOf, summaryOf } from './run-view.ts';

export interface RunEngineDeps {
  runs: RunStore;
  services: StageServices;
  listMaps(): Promise<MapInfo[]>;
  /** Protection report (assess); absent = not available in this build. */
  assess?(target: string): Promise<Assessment>;
  actorOptions?: StageActorOptions;
}

export interface RunEngine extends EngineFacade {
  /** Cancels runs still in flight (their sandboxes get cleaned up) and waits for them, bounded. */
  close(timeoutMs?: number): Promise<void>;
}

export function createRunEngine(deps: RunEngineDeps): RunEngine {
  const { runs } = deps;
  const listeners = new Set<EngineListener>();
  const live = new Map<string, { handle?: RunHandle; done: Promise<unknown>; abort?: AbortController }>();
  const assessed = new Map<string, Assessment>();

  const fanOut = (e: RunEvent) => { for (const l of listeners) l.event(e); };
  const updated = (id: string) => {
    const rec = runs.get(id);
    if (rec) for (const l of listeners) l.updated(summaryOf(rec, live.has(id)));
  };
  const record = (id: string): RunRecord => {
    const rec = runs.get(runs.resolveId(id));
    if (!rec) throw new UnderstudyError('usage', `no run '${id}' in the run store`);
    return rec;
  };
  const contextOf = (rec: RunRecord): RunContext | undefined => {
    const h = live.get(rec.id)?.handle;
    if (h) return h.actor.getSnapshot().context;
    if (rec.verb === 'rollback') {
      const timings = Object.fromEntries(runs.timings(rec.id).map((t) => [t.stage, t]));
      const err = (rec.result as { error?: RunContext['error'] } | undefined)?.error;
      return { input: rec.input as unknown as RunInput, timings, ...(err ? { error: err } : {}) };
    }
    return (runs.snapshot(rec.id) as { context?: RunContext } | undefined)?.context;
  };
  const rollbacksOf = (rec: RunRecord) =>
    runs.list({ host: rec.target }).filter((r) => r.verb === 'rollback' && r.input.rollbackOf === rec.id);
  const canRollback = (rec: RunRecord) =>
    rec.verb === 'upgrade' && rec.outcome === 'upgraded' && !rollbacksOf(rec).some((r) => r.outcome !== 'failed' && r.outcome !== 'cancelled');
  const liveHandle = (id: string, want?: string): RunHandle => {
    const h = live.get(id)?.handle;
    if (!h) throw new UnderstudyError('usage', `run ${id} is not running in this understudy process`);
    if (want && h.state() !== want) throw new UnderstudyError('usage', `run ${id} is at '${h.state()}', not waiting for approval`);
    return h;
  };

  return {
    async listRuns(f) {
      return runs.list({ host: f.host, outcome: f.outcome, limit: f.limit })
        .map((r) => summaryOf(r, live.has(r.id)))
        .filter((s) => !f.status || s.status === f.status);
    },
    async getRun(id) {
      const rec = record(id);
      const logs = runs.events(rec.id, { type: 'log' }).map((s) => s.event).filter((e): e is Extract<RunEvent, { type: 'log' }> => e.type === 'log');
      return detailOf(rec, contextOf(rec), live.has(rec.id), logs.slice(-1000), canRollback(rec));
    },
    async startRun(req: RunRequest) {
      const input: RunInput = {
        runId: newRunId(), kind: req.kind, target: req.target, command: req.run, checks: req.checks, health: req.health,
        yes: req.yes ?? false, reboot: 'auto', options: { hypervisor: req.hypervisor, ...(req.mirror ? { mirror: req.mirror } : {}) },
      };
      const handle = startRun({ store: runs, services: deps.services, actorOptions: deps.actorOptions, listener: (e) => {
        if (e.type === 'result') return;
        fanOut(e);
        if (e.type === 'stage') updated(e.run);
      } }, input);
      const done = handle.finished.catch(() => undefined).then(() => { live.delete(input.runId); updated(input.runId); });
      live.set(input.runId, { handle, done });
      updated(input.runId);
      return { run: input.runId };
    },
    async approve(id, choices: ConflictChoice[]) {
      const h = liveHandle(record(id).id, 'review');
      h.send({ type: 'APPROVE', resolutions: Object.fromEntries(choices.map((c) => [c.path, c.prefer])) });
    },
    async abort(id) { liveHandle(record(id).id, 'review').send({ type: 'ABORT' }); },
    async cancel(id) {
      const rec = record(id);
      const entry = live.get(rec.id);
      if (!entry) throw new UnderstudyError('usage', `run ${rec.id} is not running in this understudy process`);
      if (entry.handle) entry.handle.send({ type: 'CANCEL' });
      else entry.abort?.abort(new UnderstudyError('cancelled', 'cancelled by the operator'));
    },
    async rollback(id) {
      const rec = record(id);
      const map1 = contextOf(rec)?.map1;
      if (!canRollback(rec) || !map1) {
        throw new UnderstudyError('usage', `run ${rec.id} has no swap to roll back (outcome: ${rec.outcome ?? rec.state})`);
      }
      const abort = new AbortController();
      const { run, done } = startRollback({ runs, services: deps.services, emit: fanOut, updated }, { id: rec.id, target: rec.target, map1 }, abort.signal);
      live.set(run, { done: done.finally(() => { live.delete(run); updated(run); updated(rec.id); }), abort });
      updated(rec.id);
      return { run };
    },
    async listHosts() {
      const byTarget = new Map<string, HostInfo>();
      const host = (target: string) => byTarget.get(target) ?? byTarget.set(target, { target, verdict: assessed.get(target)?.verdict ?? 'unknown' }).get(target)!;
      for (const m of await deps.listMaps()) {
        const h = host(m.target);
        if (!h.lastMap || h.lastMap.capturedAt < m.capturedAt) { h.lastMap = m; h.host = m.host; }
      }
      for (const r of runs.list({ limit: 1000 })) {
        const h = host(r.target);
        if (!h.lastRun) h.lastRun = summaryOf(r, live.has(r.id));
      }
      return [...byTarget.values()].sort((a, b) => a.target.localeCompare(b.target));
    },
    async assess(target) {
      if (!deps.assess) throw new UnderstudyError('not-implemented', 'assess is not available in this build');
      const a = await deps.assess(target);
      assessed.set(target, a);
      return a;
    },
    listMaps: () => deps.listMaps(),
    subscribe(l) {
      listeners.add(l);
      return () => { listeners.delete(l); };
    },
    async close(timeoutMs = 60_000) {
      for (const e of live.values()) {
        e.handle?.send({ type: 'CANCEL', reason: 'understudy is shutting down' });
        e.abort?.abort();
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([Promise.allSettled([...live.values()].map((e) => e.done)), new Promise((r) => { timer = setTimeout(r, timeoutMs); })]);
      clearTimeout(timer);
    },
  };
}
