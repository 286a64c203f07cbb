// CANCEL from every state: the running stage sees its AbortSignal, cleanup (sandbox release before the
// swap, rollback after it) runs after the aborted work unwound, and the run ends cancelled.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeRun } from './harness.ts';
import type { StageServiceName } from '../../../main/core/workflow/stage-services.ts';

const hangable: Array<[StageServiceName, string, 'releaseSandbox' | 'rollback']> = [
  ['preflight', 'preflight', 'releaseSandbox'], ['captureHost', 'capturing', 'releaseSandbox'],
  ['buildImage', 'building', 'releaseSandbox'], ['placeSandbox', 'waiting for a hypervisor', 'releaseSandbox'], ['bootSandbox', 'booting', 'releaseSandbox'],
  ['runUpgrade', 'upgrading', 'releaseSandbox'], ['runChecks', 'checking', 'releaseSandbox'],
  ['captureSandbox', 'capturing2', 'releaseSandbox'], ['releaseSandbox', 'releasing', 'releaseSandbox'],
  ['findConflicts', 'reconciling', 'releaseSandbox'],
  ['swap', 'swapping', 'rollback'], ['restart', 'restarting', 'rollback'], ['checkHealth', 'health', 'rollback'],
];

describe('cancel from every state', () => {
  for (const [service, state, cleanup] of hangable) {
    it(`CANCEL in ${state} aborts ${service}, then ${cleanup}, then cancelled`, async () => {
      const run = startFakeRun({ hangAt: service });
      const at = await run.reach(state);
      assert.equal(at.value, state);
      run.actor.send({ type: 'CANCEL' });
      const s = await run.finished();
      assert.equal(s.value, 'cancelled');
      assert.equal(s.context.error?.code, 'cancelled');
      assert.equal(s.context.error?.stage, state);
      const calls = run.services.calls.map((c) => `${c.phase} ${c.name}`);
      const aborted = calls.indexOf(`abort ${service}`);
      assert.ok(aborted >= 0, `${service} saw the abort: ${calls.join(', ')}`);
      const cleaned = calls.findIndex((c, i) => i > aborted && c === `end ${cleanup}`);
      assert.ok(cleaned > aborted, `${cleanup} finished after the abort: ${calls.join(', ')}`);
      // nothing after the cancelled stage ran
      assert.equal(calls.filter((c) => c.startsWith('end ') && !c.endsWith(cleanup)).length,
        calls.filter((c, i) => c.startsWith('end ') && !c.endsWith(cleanup) && i < aborted).length);
    });
  }

  it('CANCEL in review releases the sandbox and ends cancelled', async () => {
    const run = startFakeRun({}, { yes: false });
    await run.reach('review');
    run.actor.send({ type: 'CANCEL', reason: 'operator pressed Cancel' });
    const s = await run.finished();
    assert.equal(s.value, 'cancelled');
    assert.equal(s.context.error?.message, 'operator pressed Cancel');
    assert.equal(run.services.count('releaseSandbox'), 2);
    assert.equal(run.services.count('swap'), 0);
  });

  it('CANCEL during rolling-back is ignored: the rollback finishes', async () => {
    const run = startFakeRun({ healthFail: true, delayMs: { rollback: 50 } });
    await run.reach('rolling-back');
    run.actor.send({ type: 'CANCEL' });
    const s = await run.finished();
    assert.equal(s.value, 'rolled-back');
    assert.deepEqual(run.services.calls.filter((c) => c.name === 'rollback').map((c) => c.phase), ['start', 'end']);
  });

  it('CANCEL during cleaning-up is ignored: cleanup finishes', async () => {
    const run = startFakeRun({ failAt: 'buildImage', delayMs: { releaseSandbox: 50 } });
    await run.reach('cleaning-up');
    run.actor.send({ type: 'CANCEL' });
    const s = await run.finished();
    assert.equal(s.value, 'failed');
    assert.deepEqual(run.services.calls.filter((c) => c.name === 'releaseSandbox').map((c) => c.phase), ['start', 'end']);
  });
});
