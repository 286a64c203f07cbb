// "At most once more" survives the orchestrator: a host whose pool member was lost goes back in the queue,
// the batch is interrupted right then and its process taken for dead; the resumed batch (a new process,
// real SQLite store) loses the member again and fails the host instead of retrying it a second time, and
// its one retry kept away from the member the first attempt lost.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore } from '../../../main/app/run-store/run-store.ts';
import { BatchStore } from '../../../main/app/run-store/batch-store.ts';
import { resumeBatch, runBatch } from '../../../main/app/runs/batch-runner.ts';
import { parseFleet } from '../../../main/app/runs/fleet-file.ts';
import { fakeStageServices } from '../../../main/adapters/fake/fake-stage-services.ts';
import { UnderstudyError } from '../../../main/core/domain/errors.ts';
import type { RunInput } from '../../../main/core/workflow/run-types.ts';
import { setOwner } from '../helpers/record-owner.ts';

const hosts = parseFleet('plan:\n  run: apt-get install -y hello-service=2.0\nhosts:\n  - target: dir:/srv/h1\n');
const GONE_PID = 2 ** 22 + 17; // above pid_max's default: no process has it

/** Stage services on a pool of m1 and m2 whose every upgrade loses its member; placements are recorded. */
function losingPool(placedWith: Array<string[] | undefined>) {
  const services = fakeStageServices();
  return (input: RunInput): typeof services => {
    const avoid = input.options.avoidMembers as string[] | undefined;
    const member = avoid?.includes('m1') ? 'm2' : 'm1';
    return {
      ...services,
      placeSandbox: async () => { placedWith.push(avoid); return { placement: { member, waitedSeconds: 0 } }; },
      runUpgrade: async () => { throw new UnderstudyError('hypervisor-lost', `pool member ${member} was lost during the upgrade: the connection closed`); },
    };
  };
}

describe('a batch resumed after its orchestrator died keeps the retry count of its hosts', () => {
  let dir: string;
  let store: RunStore;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'understudy-batch-requeued-')); store = new RunStore(dir); });
  after(() => { store.close(); rmSync(dir, { recursive: true, force: true }); });

  it('the host requeued before the orchestrator died is not retried again; its retry avoided the lost member', async () => {
    const first: Array<string[] | undefined> = [];
    const stop = new AbortController();
    const r1 = await runBatch({
      store, hosts, options: { canary: 0, parallel: 1, maxFail: { count: 0 } }, kind: 'rehearse', yes: false, batchId: 'b-requeued',
      services: losingPool(first), signal: stop.signal, onRequeue: () => stop.abort(), // dies right after the requeue
    });
    assert.equal(r1.interrupted, true);
    assert.deepEqual(first, [undefined], 'one attempt, anywhere');
    const saved = new BatchStore(store).get('b-requeued')!.hosts[0]!;
    assert.equal(saved.status, 'pending');
    assert.deepEqual(saved.requeued?.map((a) => a.member), ['m1'], 'the attempt lost on m1 is saved with the batch');
    setOwner(store.db, 'batches', 'b-requeued', GONE_PID);

    const second: Array<string[] | undefined> = [];
    const requeues: string[] = [];
    const r2 = await resumeBatch({ store, batchId: 'b-requeued', services: losingPool(second), onRequeue: (_b, t) => requeues.push(t) });
    assert.deepEqual(second, [['m1']], 'one more attempt only, kept away from m1');
    assert.deepEqual(requeues, [], 'the second loss is not put back in the queue');
    const h = r2.hosts[0]!;
    assert.equal(h.outcome, 'failed');
    assert.equal(h.result?.error?.code, 'hypervisor-lost');
    assert.equal(h.member, 'm2');
    assert.deepEqual(h.requeued?.map((a) => [a.member, a.run]), [['m1', saved.requeued![0]!.run]], 'the report keeps the attempt of the dead process');
    assert.equal(r2.ok, false);
  });
});
