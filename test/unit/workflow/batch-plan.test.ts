// The pure fleet scheduler: canary, parallelism, max-fail (count and percent).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { batchDone, batchSummary, canRequeue, failureBudget, hostFinished, hostInterrupted, hostRequeued, newBatch, parseMaxFail, startNext, type BatchState } from '../../../main/core/workflow/batch-plan.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';

/** Drives a batch to the end; `fails` lists the hosts that fail; returns start waves and the final state. */
function simulate(s0: BatchState, fails: string[]): { waves: string[][]; state: BatchState } {
  let s = s0;
  const waves: string[][] = [];
  const running: string[] = [];
  for (;;) {
    const n = startNext(s);
    s = n.state;
    if (n.start.length) waves.push(n.start);
    running.push(...n.start);
    const t = running.shift();
    if (!t) break;
    s = hostFinished(s, t, !fails.includes(t), fails.includes(t) ? 'check-failed' : 'upgraded');
  }
  assert.ok(batchDone(s));
  return { waves, state: s };
}

const four = ['h1', 'h2', 'h3', 'h4'];

describe('batch plan', () => {
  it('canary first and alone, then the rest in parallel waves', () => {
    const { waves, state } = simulate(newBatch(four, { canary: 1, parallel: 2, maxFail: { count: 0 } }), []);
    assert.deepEqual(waves, [['h1'], ['h2', 'h3'], ['h4']]);
    assert.deepEqual(batchSummary(state).passed, 4);
    assert.equal(batchSummary(state).ok, true);
  });

  it('a failing canary stops the batch: nothing else starts', () => {
    const { waves, state } = simulate(newBatch(four, { canary: 2, parallel: 4, maxFail: { count: 3 } }), ['h2']);
    assert.deepEqual(waves, [['h1', 'h2']]);
    assert.deepEqual(state.hosts.map((h) => h.status), ['passed', 'failed', 'skipped', 'skipped']);
    assert.match(state.stopped ?? '', /canary h2 failed \(check-failed\)/);
    assert.equal(batchSummary(state).ok, false);
  });

  it('max-fail 0: the first failure after the canary stops new starts; running hosts finish', () => {
    const { state } = simulate(newBatch(four, { canary: 1, parallel: 2, maxFail: { count: 0 } }), ['h2']);
    assert.deepEqual(state.hosts.map((h) => h.status), ['passed', 'failed', 'passed', 'skipped']);
  });

  it('max-fail 1 tolerates one failure and finishes the fleet, not ok', () => {
    const { state } = simulate(newBatch(four, { canary: 1, parallel: 1, maxFail: { count: 1 } }), ['h3']);
    assert.deepEqual(state.hosts.map((h) => h.status), ['passed', 'passed', 'failed', 'passed']);
    const sum = batchSummary(state);
    assert.deepEqual([sum.ok, sum.failed, sum.stopped], [false, 1, undefined]);
  });

  it('max-fail as a percentage of the fleet', () => {
    assert.equal(failureBudget(newBatch(four, { canary: 0, parallel: 1, maxFail: { percent: 25 } })), 1);
    assert.equal(failureBudget(newBatch(four, { canary: 0, parallel: 1, maxFail: { percent: 49 } })), 1);
    const { state } = simulate(newBatch(four, { canary: 0, parallel: 1, maxFail: { percent: 25 } }), ['h1', 'h2']);
    assert.deepEqual(state.hosts.map((h) => h.status), ['failed', 'failed', 'skipped', 'skipped']);
  });

  it('an interrupted host goes back to pending (not a failure) and starts again within the parallel limit', () => {
    let s = startNext(newBatch(['h1', 'h2', 'h3'], { canary: 0, parallel: 2, maxFail: { count: 0 } })).state;
    assert.deepEqual(s.hosts.map((h) => h.status), ['running', 'running', 'pending']);
    s = hostInterrupted(s, 'h1');
    s = hostInterrupted(s, 'h3'); // not running: unchanged
    assert.deepEqual([s.hosts.map((h) => h.status), s.stopped, batchDone(s)], [['pending', 'running', 'pending'], undefined, false]);
    const next = startNext(s);
    assert.deepEqual(next.start, ['h1']);
  });

  it('parses --max-fail and rejects bad fleets and options', () => {
    assert.deepEqual(parseMaxFail('2'), { count: 2 });
    assert.deepEqual(parseMaxFail('25%'), { percent: 25 });
    const usage = (e: unknown) => isUnderstudyError(e) && e.code === 'usage';
    for (const bad of ['', 'x', '-1', '2.5', '120%']) assert.throws(() => parseMaxFail(bad), usage, bad);
    assert.throws(() => newBatch([], { canary: 0, parallel: 1, maxFail: { count: 0 } }), usage);
    assert.throws(() => newBatch(['a', 'a'], { canary: 0, parallel: 1, maxFail: { count: 0 } }), usage);
    assert.throws(() => newBatch(['a'], { canary: 0, parallel: 0, maxFail: { count: 0 } }), usage);
  });
  it('lets runs use the pool\'s slots beyond --parallel, canary first all the same', () => {
    let s = newBatch(['h1', 'h2', 'h3', 'h4'], { canary: 1, parallel: 1, maxFail: { count: 0 } });
    let n = startNext(s, 3);
    assert.deepEqual(n.start, ['h1'], 'the canary alone first');
    s = hostFinished(n.state, 'h1', true);
    n = startNext(s, 3);
    assert.deepEqual(n.start, ['h2', 'h3', 'h4']);
    assert.deepEqual(startNext(newBatch(['a', 'b'], { canary: 0, parallel: 2, maxFail: { count: 0 } }), 1).start, ['a', 'b'], 'never fewer than --parallel');
  });

  it('puts a host whose hypervisor was lost back in the queue, once', () => {
    let s = startNext(newBatch(['h1', 'h2'], { canary: 0, parallel: 2, maxFail: { count: 0 } })).state;
    assert.ok(canRequeue(s, 'h1'));
    s = hostRequeued(s, 'h1');
    assert.deepEqual(s.hosts[0], { target: 'h1', status: 'pending', retries: 1 });
    assert.equal(canRequeue(s, 'h1'), false, 'only a running host');
    s = startNext(s).state;
    assert.equal(s.hosts[0]!.status, 'running');
    assert.equal(canRequeue(s, 'h1'), false, 'at most once more');
    assert.ok(canRequeue(s, 'h2'));
  });
});
