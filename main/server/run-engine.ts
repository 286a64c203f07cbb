// The EngineFacade over the real workflow: H3's RunService (run store + runner with the StageServices
// the composition root provides) plus rollback runs. Runs started here are driven in this process;
// their events fan out to every connected face.
import type { Assessment, ConflictChoice, HostInfo, MapInfo, RunRequest } from '../contract/index.ts';
import { UnderstudyError } from '../core/domain/errors.ts';
import type { RunEvent } from '../core/domain/events.ts';
import type { RunContext, RunInput } from '../core/workflow/run-types.ts';
import type { StageServices } from '../core/workflow/stage-services.ts';
import type { StageActorOptions } from '../core/workflow/stage-actors.ts';
import type { RunRecord, RunStore } from '../app/run-store/run-store.ts';
import { otherOwnerRuns } from '../app/runs/process-alive.ts';
import { RunService } from '../app/runs/run-service.ts';
import type { EngineFacade, EngineListener } from './engine-facade.ts';
import { startRollback } from './rollback-run.ts';
import { detailOf, summaryOf } from './run-view.ts';
import { batchViews } from './batch-view.ts';

export interface RunEngineDeps {
  runs: RunStore;
  /** Stage services for one run (the composition root's real adapters; fakes in UI-flow tests). */
  servicesFor(input: RunInput): StageServices;
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
  const service = new RunService({ store: runs, services: deps.servicesFor, ...(deps.actorOptions ? { actorOptions: deps.actorOptions } : {}) });
  const listeners = new Set<EngineListener>();
  const rollbacks = new Map<string, { done: Promise<void>; abort: AbortController }>();
  const assessed = new Map<string, Assessment>();

  /** Driven here, or by another understudy process that is still alive (a CLI run, say). */
  const isLive = (id: string, rec?: RunRecord) => service.get(id) !== undefined || rollbacks.has(id)
    || (rec !== undefined && !rec.outcome && otherOwnerRuns(rec));
  const fanOut = (e: RunEvent) => { for (const l of listeners) l.event(e); };
  const updated = (id: string) => {
    const rec = runs.get(id);
    if (rec) for (const l of listeners) l.updated(summaryOf(rec, isLive(id, rec)));
  };
  service.subscribe((e) => {
    if (e.type === 'result') { queueMicrotask(() => updated(e.run)); return; }
    fanOut(e);
    if (e.type === 'stage') updated(e.run);
  });

  const record = (id: string): RunRecord => runs.get(runs.resolveId(id))!;
  const contextOf = (rec: RunRecord): RunContext | undefined => {
    const h = service.get(rec.id);
    if (h) return h.actor.getSnapshot().context;
    if (rec.verb === 'rollback') {
      const timings = Object.fromEntries(runs.timings(rec.id).map((t) => [t.stage, { startedAt: t.startedAt, attempts: t.attempt, ...(t.seconds !== undefined ? { seconds: t.seconds } : {}) }]));
      const err = (rec.result as { error?: RunContext['error'] } | undefined)?.error;
      return { input: rec.input as unknown as RunInput, timings, ...(err ? { error: err } : {}) };
    }
    return (runs.snapshot(rec.id) as { context?: RunContext } | undefined)?.context;
  };
  const canRollback = (rec: RunRecord) => rec.verb === 'upgrade' && rec.outcome === 'upgraded'
    && !runs.list({ host: rec.target }).some((r) => r.verb === 'rollback' && r.input.rollbackOf === rec.id
      && r.outcome !== 'failed' && r.outcome !== 'cancelled');

  return {
    async listRuns(f) {
      return runs.list({ host: f.host, outcome: f.outcome, limit: f.limit })
        .map((r) => summaryOf(r, isLive(r.id, r)))
        .filter((s) => !f.status || s.status === f.status);
    },
    async getRun(id) {
      const rec = record(id);
      const logs = runs.events(rec.id, { type: 'log' }).map((s) => s.event).filter((e): e is Extract<RunEvent, { type: 'log' }> => e.type === 'log');
      return detailOf(rec, contextOf(rec), isLive(rec.id, rec), logs.slice(-1000), canRollback(rec));
    },
    async startRun(req: RunRequest) {
      const handle = service.startRun(req.kind, {
        target: req.target, command: req.run, checks: req.checks, health: req.health, yes: req.yes ?? false, reboot: 'auto',
        options: { hypervisor: req.hypervisor, ...(req.mirror ? { mirror: [req.mirror] } : {}),
          ...(req.allowHost?.length ? { allowHost: req.allowHost } : {}), ...(req.upstreamProxy ? { upstreamProxy: req.upstreamProxy } : {}),
          ...(req.identity ? { identity: req.identity } : {}), ...(req.acceptNewHostKey ? { acceptNewHostKey: true } : {}) },
      });
      updated(handle.runId);
      return { run: handle.runId };
    },
    async approve(id, choices: ConflictChoice[]) {
      service.approve(record(id).id, Object.fromEntries(choices.map((c) => [c.path, c.prefer])));
    },
    async abort(id) { service.abort(record(id).id); },
    async cancel(id) {
      const rec = record(id);
      const rb = rollbacks.get(rec.id);
      if (rb) rb.abort.abort(new UnderstudyError('cancelled', 'cancelled by the operator'));
      else service.cancel(rec.id);
    },
    async resume(id) {
      const rec = record(id);
      service.resume(rec.id);
      updated(rec.id);
    },
    async rollback(id) {
      const rec = record(id);
      const map1 = contextOf(rec)?.map1;
      if (!canRollback(rec) || !map1) {
        throw new UnderstudyError('usage', `run ${rec.id} has no swap to roll back (outcome: ${rec.outcome ?? rec.state})`);
      }
      const abort = new AbortController();
      const services = deps.servicesFor(rec.input as unknown as RunInput);
      const { run, done } = startRollback({ runs, services, emit: fanOut, updated }, { id: rec.id, target: rec.target, map1, reboot: (rec.input as unknown as RunInput).reboot ?? 'auto' }, abort.signal);
      rollbacks.set(run, { done: done.finally(() => { rollbacks.delete(run); updated(run); updated(rec.id); }), abort });
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
        if (!h.lastRun) h.lastRun = summaryOf(r, isLive(r.id, r));
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
    listBatches: async (limit) => batchViews(runs, limit),
    subscribe(l) {
      listeners.add(l);
      return () => { listeners.delete(l); };
    },
    async close(timeoutMs = 60_000) {
      for (const rb of rollbacks.values()) rb.abort.abort();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const bounded = new Promise((r) => { timer = setTimeout(r, timeoutMs); });
      await Promise.race([Promise.allSettled([service.close(), ...[...rollbacks.values()].map((r) => r.done)]), bounded]);
      clearTimeout(timer);
    },
  };
}
