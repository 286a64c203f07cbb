// The worker pool behind capture, verify and restore's object check: every job done exactly once, no
// worker started for no work, and an abort stops it, even one that happened before it started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchJobs, runBatches } from '../../../main/adapters/store/worker-pool.ts';

const script = new URL('./helpers/double-worker.mjs', import.meta.url);
const numbers = (n: number) => Array.from({ length: n }, (_, i) => i);

test('each job done once, in batches, on up to the given workers', async () => {
  const got: number[] = [];
  let started = 0;
  await runBatches<number, number>({ script, workers: 2, data: () => { started++; return {}; }, batches: batchJobs(numbers(100), () => 1, 7, 1e9),
    onResults: (r) => got.push(...r) });
  assert.deepEqual(got.sort((a, b) => a - b), numbers(100).map((n) => n * 2));
  assert.equal(started, 2);
});

test('no jobs: resolves without starting a worker; one batch starts one worker', async () => {
  let started = 0;
  await runBatches<number, number>({ script, workers: 2, data: () => { started++; return {}; }, batches: [], onResults: () => assert.fail('no results expected') });
  assert.equal(started, 0);
  await runBatches<number, number>({ script, workers: 2, data: () => { started++; return {}; }, batches: [[1, 2]], onResults: () => undefined });
  assert.equal(started, 1);
});

test('an abort that happened before the pool started rejects at once (its event is long over)', { timeout: 10_000 }, async () => {
  const ac = new AbortController();
  ac.abort(new Error('stopped early'));
  await assert.rejects(runBatches<number, number>({ script, workers: 2, data: () => ({}), batches: [[1]], onResults: () => undefined, signal: ac.signal }), /stopped early/);
});

test('an abort while batches are in flight stops the run', async () => {
  const ac = new AbortController();
  const run = runBatches<number, number>({ script, workers: 2, data: () => ({ delayMs: 200 }), batches: [[1], [2], [3]], onResults: () => undefined, signal: ac.signal });
  setTimeout(() => ac.abort(new Error('cancelled')), 20);
  await assert.rejects(run, /cancelled/);
});
