// withStageTimeout: a stage ends with its own result, or with a timeout/cancel error after a bounded grace,
// even when the work ignores its signal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { withStageTimeout } from '../../../main/adapters/sandbox/stage-timeout.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';

test('a stage that finishes in time returns its value', async () => {
  assert.equal(await withStageTimeout('quick', 5_000, undefined, async () => 42), 42);
});

test('a stage that overruns gets its signal aborted, may clean up, then fails with timeout and what was pending', async () => {
  let cleanedUp = false;
  const err = await withStageTimeout('slow stage', 50, undefined, async (signal) => {
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    await sleep(20); // clean-up after the abort is waited for
    cleanedUp = true;
  }).then(() => undefined, (e: unknown) => e);
  assert.ok(isUnderstudyError(err) && err.code === 'timeout', String(err));
  assert.match(err.message, /slow stage did not finish within 0 s/);
  assert.equal(typeof err.details?.pending, 'object');
  assert.ok(cleanedUp, 'the grace period let the stage clean up');
});

test('the caller\'s cancel stops the stage with cancelled', async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 30);
  await assert.rejects(withStageTimeout('upgrade', 60_000, ac.signal, (signal) =>
    new Promise((_r, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }))),
  (e) => isUnderstudyError(e) && e.code === 'cancelled' && e.message === 'upgrade: cancelled');
});

test('a stage error passes through unchanged', async () => {
  await assert.rejects(withStageTimeout('x', 5_000, undefined, async () => { throw new Error('boom'); }), /boom/);
});
