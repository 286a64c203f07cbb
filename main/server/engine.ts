// Composition root for the faces (serve, ui, Electron): builds the engine facade over the store.
import { UnderstudyError } from '../core/domain/errors.ts';
import type { EngineFacade } from './engine-facade.ts';

export interface EngineOptions { store: string }

/** Until the run service is wired, every command says so plainly instead of pretending. */
export function unavailableEngine(reason: string): EngineFacade {
  const no = async (): Promise<never> => { throw new UnderstudyError('not-implemented', reason); };
  return {
    listRuns: no, getRun: no, startRun: no, approve: no, abort: no, cancel: no, rollback: no,
    listHosts: no, assess: no, listMaps: no,
    subscribe: () => () => {},
  };
}

export async function createEngine(_opts: EngineOptions): Promise<EngineFacade> {
  return unavailableEngine('the run engine is not wired into the UI server yet');
}
