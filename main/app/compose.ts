// Composition root of the engine: real adapters behind the workflow's stage services and assess's host
// probes. Every face (CLI, server, Electron) calls this once at start-up; tests inject fakes through the
// same registries.
import { provideHostProbes } from './runs/host-probes-registry.ts';
import { provideStageServices } from './runs/stage-services-registry.ts';
import { realHostProbes } from './stage-services/host-probes.ts';
import { realStageServices } from './stage-services/real-stage-services.ts';
import { resolveStoreDir } from './store-dir.ts';
import { removeStaleFiles } from './stage-services/stale-files.ts';
import { closePools } from './stage-services/sandbox-pools.ts';

export function composeEngine(store: string = resolveStoreDir()): void {
  provideStageServices(realStageServices);
  provideHostProbes(realHostProbes(store));
  removeStaleFiles(); // what killed runs (or a restart of this machine) left behind
}

/** Lets go of what the engine holds across runs (the sandbox pools' member connections) once a face is done. */
export async function closeEngine(): Promise<void> {
  await closePools();
}
