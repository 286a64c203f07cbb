// The machine's main paths with fake services: success, rehearse-only, approval gate, --yes, conflicts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeRun } from './harness.ts';
import { runResult } from '../../../main/core/workflow/run-result.ts';

describe('upgrade machine paths', () => {
  it('runs every stage in order and ends upgraded with --yes', async () => {
    const run = startFakeRun();
    const s = await run.finished();
    assert.equal(s.value, 'done');
    assert.deepEqual(run.states, ['preflight', 'capturing', 'building', 'waiting for a hypervisor', 'booting', 'upgrading', 'checking', 'capturing2',
      'rebooting', 'releasing', 'reconciling', 'swapping', 'restarting', 'health', 'done']);
    assert.deepEqual(run.services.started(), ['preflight', 'captureHost', 'buildImage', 'placeSandbox', 'bootSandbox', 'runUpgrade',
      'runChecks', 'captureSandbox', 'releaseSandbox', 'findConflicts', 'swap', 'restart', 'checkHealth']);
    const r = runResult(s.context, String(s.value));
    assert.equal(r.outcome, 'upgraded');
    assert.equal(r.map1, 'a'.repeat(64));
    assert.equal(r.map2, 'b'.repeat(64));
    assert.deepEqual(r.packages?.upgraded, [{ name: 'hello-service', from: '1.0', to: '2.0' }]);
    assert.deepEqual(r.swap, { files: 1, bytesSent: 4096, seconds: 0.1, windowSeconds: 0.01, restarted: ['hello-service'], rebooted: false });
    assert.equal(r.error, undefined);
    for (const st of ['preflight', 'capturing', 'swapping', 'health']) assert.equal(typeof r.timings[st], 'number', st);
  });

  it('passes progress and log events from the stages to the sink, tagged with the run', async () => {
    const run = startFakeRun();
    await run.finished();
    const progress = run.events.filter((e) => e.type === 'progress');
    assert.ok(progress.length >= 2);
    assert.deepEqual({ ...progress[1], run: progress[1]!.run }, { type: 'progress', run: 'run-test', stage: 'capturing', step: 'hashing', current: 2048, total: 2048, bytesPerSec: 1024 });
    const log = run.events.find((e) => e.type === 'log');
    assert.equal(log?.type === 'log' && log.text, '$ apt-get install -y hello-service=2.0');
  });

  it('a rehearsal ends after capturing2 with a report and never touches the host', async () => {
    const run = startFakeRun({}, { kind: 'rehearse', yes: false });
    const s = await run.finished();
    assert.equal(s.value, 'rehearsed');
    for (const n of ['findConflicts', 'swap', 'restart', 'checkHealth', 'rollback'] as const) assert.equal(run.services.count(n), 0, n);
    assert.equal(run.services.count('releaseSandbox'), 1);
    assert.equal(runResult(s.context, 'rehearsed').outcome, 'rehearsed');
  });

  it('without --yes waits in review; APPROVE continues to the swap', async () => {
    const run = startFakeRun({}, { yes: false });
    const atReview = await run.reach('review');
    assert.equal(atReview.value, 'review');
    assert.equal(run.services.count('swap'), 0);
    run.actor.send({ type: 'APPROVE' });
    const s = await run.finished();
    assert.equal(s.value, 'done');
    assert.equal(run.services.count('swap'), 1);
  });

  it('ABORT at review ends aborted, host untouched, sandbox released', async () => {
    const run = startFakeRun({}, { yes: false });
    await run.reach('review');
    run.actor.send({ type: 'ABORT', reason: 'not today' });
    const s = await run.finished();
    assert.equal(s.value, 'aborted');
    assert.equal(run.services.count('swap'), 0);
    assert.ok(run.services.count('releaseSandbox') >= 1);
    assert.equal(s.context.error?.message, 'not today');
    assert.equal(s.context.hostTouched, undefined);
  });

  const drift = [{ path: 'etc/hello.conf', host: 'c'.repeat(64), sandbox: 'd'.repeat(64) }];

  it('--yes with conflicts stops with outcome conflict before the swap', async () => {
    const run = startFakeRun({ conflicts: drift });
    const s = await run.finished();
    assert.equal(s.value, 'conflict');
    assert.equal(run.services.count('swap'), 0);
    assert.deepEqual(runResult(s.context, 'conflict').conflicts, drift);
  });

  it('APPROVE must resolve every conflict: unresolved -> conflict, resolved -> swap with the choices', async () => {
    const unresolved = startFakeRun({ conflicts: drift }, { yes: false });
    await unresolved.reach('review');
    unresolved.actor.send({ type: 'APPROVE' });
    assert.equal((await unresolved.finished()).value, 'conflict');
    assert.equal(unresolved.services.count('swap'), 0);

    const resolved = startFakeRun({ conflicts: drift }, { yes: false });
    await resolved.reach('review');
    resolved.actor.send({ type: 'APPROVE', resolutions: { 'etc/hello.conf': 'host' } });
    const s = await resolved.finished();
    assert.equal(s.value, 'done');
    assert.deepEqual(s.context.resolutions, { 'etc/hello.conf': 'host' });
  });
});
