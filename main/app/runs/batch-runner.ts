// Runs a fleet: the pure batch plan decides who starts and when to stop; each host is an ordinary run
// (recorded in the run store). Hosts with the same plan (command, checks) share one StageServices whose
// rehearsal stages are shared per identical map1.
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { StageServices } from '../../core/workflow/stage-services.ts';
import type { RunInput, RunKind } from '../../core/workflow/run-types.ts';
import type { RunResult } from '../../core/workflow/run-result.ts';
import { batchSummary, hostFinished, newBatch, startNext, type BatchOptions, type BatchState } from '../../core/workflow/batch-plan.ts';
import { sharedRehearsal } from '../../core/workflow/shared-rehearsal.ts';
import { RunService } from './run-service.ts';
import type { RunStore } from '../run-store/run-store.ts';
import type { FleetHost } from './fleet-file.ts';
import type { RunListener } from './runner.ts';

export interface BatchRequest {
  store: RunStore;
  hosts: FleetHost[];
  options: BatchOptions;
  kind: RunKind;
  /** Approve every host's review (required for kind 'upgrade': nobody is asked per host). */
  yes: boolean;
  adapterOptions?: Record<string, unknown>;
  services(input: RunInput): StageServices;
  listener?: RunListener;
  onProgress?(state: BatchState): void;
  signal?: AbortSignal;
}

export interface HostReport { target: string; run?: string; outcome: string; exitCode: number; result?: RunResult; error?: string }

export async function runBatch(req: BatchRequest) {
  if (req.kind === 'upgrade' && !req.yes) {
    throw new UnderstudyError('usage', 'a batch upgrade needs --yes (nobody is asked per host); rehearse the fleet first with --rehearse');
  }
  const groups = new Map<string, ReturnType<typeof sharedRehearsal>>();
  const servicesFor = (input: RunInput) => {
    const key = JSON.stringify([input.command, input.checks]);
    let g = groups.get(key);
    if (!g) { g = sharedRehearsal(req.services(input)); groups.set(key, g); }
    return g.services;
  };
  const svc = new RunService({ store: req.store, services: servicesFor });
  const unsubscribe = req.listener ? svc.subscribe(req.listener) : () => {};
  const byTarget = new Map(req.hosts.map((h) => [h.target, h]));
  const reports = new Map<string, HostReport>();
  const running = new Map<string, Promise<{ target: string; report: HostReport }>>();
  const runIds = new Map<string, string>();
  const onAbort = () => { for (const id of runIds.values()) { try { svc.cancel(id, 'batch interrupted'); } catch { /* finished */ } } };
  req.signal?.addEventListener('abort', onAbort, { once: true });

  let st = newBatch(req.hosts.map((h) => h.target), req.options);
  try {
    for (;;) {
      if (!req.signal?.aborted) {
        const next = startNext(st);
        st = next.state;
        for (const target of next.start) running.set(target, launch(target));
      }
      req.onProgress?.(st);
      if (running.size === 0) break;
      const { target, report } = await Promise.race(running.values());
      running.delete(target);
      reports.set(target, report);
      st = hostFinished(st, target, report.exitCode === 0, report.outcome);
    }
  } finally {
    req.signal?.removeEventListener('abort', onAbort);
    unsubscribe();
    await svc.close();
  }
  const summary = batchSummary(st);
  return {
    ...summary,
    rehearsals: [...groups.values()].reduce((n, g) => n + g.rehearsals(), 0),
    hosts: st.hosts.map((h) => reports.get(h.target) ?? { target: h.target, outcome: h.status, exitCode: 1 }),
  };

  function launch(target: string): Promise<{ target: string; report: HostReport }> {
    const h = byTarget.get(target)!;
    try {
      const handle = svc.startRun(req.kind, {
        target, command: h.command, checks: h.checks, health: h.health, reboot: h.reboot, yes: req.yes, options: req.adapterOptions ?? {},
      });
      runIds.set(target, handle.runId);
      return handle.finished.then(
        (f) => ({ target, report: { target, run: handle.runId, outcome: f.outcome, exitCode: f.exitCode, result: f.result } }),
        (err: unknown) => ({ target, report: { target, run: handle.runId, outcome: 'failed', exitCode: 1, error: err instanceof Error ? err.message : String(err) } }),
      );
    } catch (err) {
      return Promise.resolve({ target, report: { target, outcome: 'failed', exitCode: 1, error: err instanceof Error ? err.message : String(err) } });
    }
  }
}
