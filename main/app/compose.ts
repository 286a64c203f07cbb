// Composition root of the engine: real adapters behind the workflow's stage services. Every face
// (CLI, server, Electron) calls this once at start-up; tests inject fakes through the same registry.
import { provideStageServices } from './runs/stage-services-registry.ts';
import { realStageServices } from './stage-services/real-stage-services.ts';

export function composeEngine(): void {
  provideStageServices(realStageServices);
}
