// Every stage's failure reaches the right terminal state with cleanup done; error codes pick the outcome.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeRun } from './harness.ts';
import { exitCodeForOutcome } from '../../../main/core/workflow/run-types.ts';
import { outcomeOfState } from '../../../main/core/workflow/run-result.ts';
import type { StageServiceName } from '../../../main/core/workflow/stage-services.ts';

const beforeSwap: Array<[StageServiceName, string]> = [
  ['preflight', 'preflight'], ['captureHost', 'capturing'], ['buildImage', 'building'], ['placeSandbox', 'waiting for a hypervisor'], ['bootSandbox', 'booting'],
  ['runUpgrade', 'upgrading'], ['runChecks', 'checking'], ['captureSandbox', 'capturing2'],
  ['releaseSandbox', 'releasing'], ['findConflicts', 'reconciling'],
];

describe('stage failures before the swap', () => {
  for (const [service, stage] of beforeSwap) {
    it(`${service} failing ends failed at ${stage}, sandbox released, host untouched`, async () => {
      const run = startFakeRun({ failAt: service, failCode: 'io' });
      const s = await run.finished();
      assert.equal(s.value, 'failed');
      assert.equal(s.context.error?.stage, stage);
      assert.equal(s.context.error?.code, 'io');
      // cleanup ran after the failure (the failing service itself may be releaseSandbox)
      const failIdx = run.services.calls.findIndex((c) => c.name === service && c.phase === 'fail');
      const releaseAfter = run.services.calls.findIndex((c, i) => i > failIdx && c.name === 'releaseSandbox' && c.phase === 'start');
      assert.ok(failIdx >= 0 && releaseAfter > failIdx, 'releaseSandbox called after the failure');
      assert.equal(run.services.count('swap'), 0);
      assert.equal(s.context.hostTouched, undefined);
      assert.equal(exitCodeForOutcome(outcomeOfState('failed')!), 1);
    });
  }

  it('a failing check (thrown) ends check-failed, exit 4, with the check results kept', async () => {
    const run = startFakeRun({ failAt: 'runChecks', failCode: 'check-failed' });
    const s = await run.finished();
    assert.equal(s.value, 'check-failed');
    assert.equal(exitCodeForOutcome(outcomeOfState(String(s.value))!), 4);
    assert.ok(run.services.count('releaseSandbox') >= 1);
  });

  it('a failing check (returned ok:false) ends check-failed with the failing command recorded', async () => {
    const run = startFakeRun({ checksFail: true });
    const s = await run.finished();
    assert.equal(s.value, 'check-failed');
    assert.deepEqual(s.context.checks, [{ cmd: 'test -x /usr/bin/hello-service', ok: false, exitCode: 1 }]);
    assert.equal(run.services.count('captureSandbox'), 0);
    assert.ok(run.services.count('releaseSandbox') >= 1);
  });

  it('a cleanup failure on the way out keeps the outcome and records the cleanup error', async () => {
    const run = startFakeRun({ failAt: 'releaseSandbox', failCode: 'hypervisor', checksFail: true });
    const s = await run.finished();
    assert.equal(s.value, 'check-failed');
    assert.match(s.context.cleanupError ?? '', /releaseSandbox failed/);
  });
});

describe('stage failures from the swap on', () => {
  it('swap reporting conflict ends conflict (exit 5) without rollback', async () => {
    const run = startFakeRun({ failAt: 'swap', failCode: 'conflict' });
    const s = await run.finished();
    assert.equal(s.value, 'conflict');
    assert.equal(exitCodeForOutcome('conflict'), 5);
    assert.equal(run.services.count('rollback'), 0);
  });

  it('swap reporting needs-recovery ends needs-recovery (exit 7)', async () => {
    const run = startFakeRun({ failAt: 'swap', failCode: 'needs-recovery' });
    const s = await run.finished();
    assert.equal(s.value, 'needs-recovery');
    assert.equal(exitCodeForOutcome('needs-recovery'), 7);
  });

  for (const service of ['swap', 'restart'] as const) {
    it(`${service} failing otherwise rolls back and ends failed`, async () => {
      const run = startFakeRun({ failAt: service, failCode: 'remote-command' });
      const s = await run.finished();
      assert.equal(s.value, 'failed');
      assert.equal(run.services.count('rollback'), 1);
      assert.equal(s.context.hostTouched, true);
      assert.equal(s.context.error?.code, 'remote-command');
    });
  }

  it('health failing rolls back and ends rolled-back (exit 6) with the health results', async () => {
    const run = startFakeRun({ healthFail: true });
    const s = await run.finished();
    assert.equal(s.value, 'rolled-back');
    assert.equal(exitCodeForOutcome('rolled-back'), 6);
    assert.equal(run.services.count('rollback'), 1);
    assert.deepEqual(s.context.health, [{ cmd: 'true', ok: false }]);
  });

  it('a health stage that cannot run (timeout) rolls back and ends failed', async () => {
    const run = startFakeRun({ failAt: 'checkHealth', failCode: 'timeout' });
    const s = await run.finished();
    assert.equal(s.value, 'failed');
    assert.equal(run.services.count('rollback'), 1);
  });

  it('a rollback that fails ends needs-recovery', async () => {
    const run = startFakeRun({ healthFail: true, failAt: 'rollback', failCode: 'io' });
    const s = await run.finished();
    assert.equal(s.value, 'needs-recovery');
    assert.equal(s.context.error?.stage, 'rolling-back');
  });

  it('an error that is not an UnderstudyError is recorded as internal', async () => {
    const run = startFakeRun({}, {}, { buildImage: async () => { throw new TypeError('boom'); } });
    const s = await run.finished();
    assert.equal(s.value, 'failed');
    assert.deepEqual(s.context.error, { stage: 'building', code: 'internal', message: 'boom' });
  });
});
