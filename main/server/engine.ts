// Composition root for the faces (serve, ui, Electron): the run engine over the store. Stage services
// come from the app's registry (provideStageServices, called once by the CLI's composition root) unless
// a caller injects them (UI-flow tests with fakes). Unwired, starting a run is a plain not-implemented
// error — history, maps and hosts still work — so nothing pretends to upgrade.
import { listMaps } from '../adapters/store/map-store.ts';
import { RunStore } from '../app/run-store/run-store.ts';
import { assessTarget } from '../app/runs/assess.ts';
import { hostProbes } from '../app/runs/host-probes-registry.ts';
import { stageServicesFor } from '../app/runs/stage-services-registry.ts';
import type { Assessment } from '../contract/index.ts';
import type { StageServices } from '../core/workflow/stage-services.ts';
import type { StageActorOptions } from '../core/workflow/stage-actors.ts';
import { createRunEngine, type RunEngine } from './run-engine.ts';

export interface EngineOptions {
  store: string;
  /** Injected stage services (tests); default: the registry's, per run. */
  services?: StageServices;
  /** Injected protection report (tests); default: the app's assess with the registry's host probes. */
  assess?(target: string): Promise<Assessment>;
  actorOptions?: StageActorOptions;
}

export async function createEngine(opts: EngineOptions): Promise<RunEngine> {
  const runs = new RunStore(opts.store);
  const engine = createRunEngine({
    runs,
    servicesFor: (input) => opts.services ?? stageServicesFor(input, opts.store),
    listMaps: () => listMaps(opts.store),
    assess: opts.assess ?? ((target) => assessTarget(opts.store, target, hostProbes())),
    ...(opts.actorOptions ? { actorOptions: opts.actorOptions } : {}),
  });
  return {
    ...engine,
    async close(timeoutMs) {
      await engine.close(timeoutMs);
      runs.close();
    },
  };
}
