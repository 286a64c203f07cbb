// Where CLI verbs that drive runs (resume, batch, upgrade) get their stage services. The composition root
// (the lead's wiring of capture/sandbox/swap adapters) calls provideStageServices once at start-up;
// until then, asking for services is a plain not-implemented error and nothing pretends to run.
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { RunInput } from '../../core/workflow/run-types.ts';
import type { StageServices } from '../../core/workflow/stage-services.ts';

export type StageServicesFactory = (input: RunInput, storeDir: string) => StageServices;

let factory: StageServicesFactory | undefined;

export function provideStageServices(f: StageServicesFactory | undefined): void {
  factory = f;
}

export function stageServicesFor(input: RunInput, storeDir: string): StageServices {
  if (!factory) throw new UnderstudyError('not-implemented', 'the stage services (capture, sandbox, swap) are not wired into this build yet');
  return factory(input, storeDir);
}
