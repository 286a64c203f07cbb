// The fakes pass the same StageServices contract the real composition will have to pass.
import { describe } from 'node:test';
import { fakeStageServices } from '../../../main/adapters/fake/fake-stage-services.ts';
import { stageServicesContract } from './contracts/stage-services.contract.ts';
import { testInput } from './harness.ts';

describe('fake stage services', () => {
  stageServicesContract('fake', async () => ({
    services: fakeStageServices({ delayMs: 1 }),
    input: testInput(),
    dispose: async () => {},
  }));
});
