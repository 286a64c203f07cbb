// Runs the upgrade machine with fake stage services and collects what happened.
import { createActor, waitFor, type SnapshotFrom } from 'xstate';
import type { RunEvent } from '../../../main/core/domain/events.ts';
import { upgradeMachine } from '../../../main/core/workflow/upgrade.machine.ts';
import { makeStageActors } from '../../../main/core/workflow/stage-actors.ts';
import type { RunInput } from '../../../main/core/workflow/run-types.ts';
import type { StageServices } from '../../../main/core/workflow/stage-services.ts';
import { fakeStageServices, type FakeOptions } from '../../../main/adapters/fake/fake-stage-services.ts';

export type Snap = SnapshotFrom<typeof upgradeMachine>;

export function testInput(over: Partial<RunInput> = {}): RunInput {
  return {
    runId: 'run-test', kind: 'upgrade', target: 'dir:/srv/fake', command: 'apt-get install -y hello-service=2.0',
    checks: ['test -x /usr/bin/hello-service'], health: ['true'], yes: true, reboot: 'auto', options: {},
    ...over,
  };
}

export function startFakeRun(fake: FakeOptions = {}, input: Partial<RunInput> = {}, patch: Partial<StageServices> = {}) {
  const services = fakeStageServices(fake);
  Object.assign(services, patch);
  const events: RunEvent[] = [];
  const states: string[] = [];
  const actor = createActor(upgradeMachine.provide({ actors: makeStageActors(services, (e) => events.push(e)) }),
    { input: testInput(input) });
  actor.subscribe((s) => { if (states[states.length - 1] !== String(s.value)) states.push(String(s.value)); });
  actor.start();
  const finished = () => waitFor(actor, (s) => s.status === 'done', { timeout: 10_000 });
  const reach = (state: string) => waitFor(actor, (s) => s.value === state || s.status === 'done', { timeout: 10_000 });
  return { actor, services, events, states, finished, reach };
}
