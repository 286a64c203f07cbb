// Composition root for the faces (serve, ui, Electron): the run engine over the store, with the stage
// services the caller provides. Without them every stage fails with a plain "not wired" error — the
// history, maps and hosts still work — so nothing pretends to upgrade.
import { listMaps } from '../adapters/store/map-store.ts';
import { RunStore } from '../app/run-store/run-store.ts';
import type { Assessment } from '../contract/index.ts';
import { UnderstudyError } from '../core/domain/errors.ts';
import type { StageServices } from '../core/workflow/stage-services.ts';
import type { StageActorOptions } from '../core/workflow/stage-actors.ts';
import { createRunEngine, type RunEngine } from './run-engine.ts';

export interface EngineOptions {
  store: string;
  /** The stage services runs use. The CLI's composition root passes the real adapters. */
  services?: StageServices;
  assess?(target: string): Promise<Assessment>;
  actorOptions?: StageActorOptions;
}

export function unwiredStageServices(): StageServices {
  const no = async (): Promise<never> => {
    throw new UnderstudyError('not-implemented', 'the UI server was started without the engine\'s stage services');
  };
  return {
    preflight: no, captureHost: no, buildImage: no, bootSandbox: no, runUpgrade: no, runChecks: no, captureSandbox: no,
    releaseSandbox: async () => undefined, findConflicts: no, swap: no, restart: no, checkHealth: no, rollback: no,
  };
}

export async function createEngine(opts: EngineOptions): Promise<RunEngine> {
  const runs = new RunStore(opts.store);
  const engine = createRunEngine({
    runs,
    services: opts.services ?? unwiredStageServices(),
    listMaps: () => listMaps(opts.store),
    ...(opts.assess ? { assess: opts.assess } : {}),
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
