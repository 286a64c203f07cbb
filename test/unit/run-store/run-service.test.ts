// The app-level run API on a real SQLite store with fake stage services.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { waitFor } from 'xstate';
import { RunService } from '../../../main/app/runs/run-service.ts';
import type { RunnerEvent } from '../../../main/app/runs/runner.ts';
import { fakeStageServices, type FakeOptions } from '../../../main/adapters/fake/fake-stage-services.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';
import { testInput } from '../workflow/harness.ts';
import { setOwner } from '../helpers/record-owner.ts';

const { runId: _r, kind: _k, ...base } = testInput();
const usage = (re: RegExp) => (e: unknown) => isUnderstudyError(e) && e.code === 'usage' && re.test(e.message);

describe('run service', () => {
  let dir: string;
  let fake: FakeOptions = {};
  let svc: RunService;
  const seen: RunnerEvent[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'understudy-runsvc-'));
    svc = new RunService({ store: dir, services: () => fakeStageServices(fake) });
    svc.subscribe((e) => seen.push(e));
  });
  after(async () => { await svc.close(); rmSync(dir, { recursive: true, force: true }); });

  it('a rehearsal streams stage events in order, then its result, and is recorded', async () => {
    fake = {};
    const h = svc.startRun('rehearse', base);
    assert.match(h.runId, /^\d{8}-\d{6}-[0-9a-f]{4}$/);
    const f = await h.finished;
    assert.equal(f.outcome, 'rehearsed');
    assert.equal(f.exitCode, 0);
    const mine = seen.filter((e) => e.run === h.runId);
    const stages = mine.filter((e) => e.type === 'stage').map((e) => e.type === 'stage' && `${e.stage}:${e.state}`);
    assert.deepEqual(stages, ['preflight:active', 'preflight:done', 'capturing:active', 'capturing:done', 'building:active',
      'building:done', 'waiting for a hypervisor:active', 'waiting for a hypervisor:done', 'booting:active', 'booting:done', 'upgrading:active', 'upgrading:done', 'checking:active',
      'checking:done', 'capturing2:active', 'capturing2:done', 'rebooting:active', 'rebooting:skipped', 'releasing:active', 'releasing:done']);
    assert.equal(mine[mine.length - 1]!.type, 'result');
    const d = svc.detail(h.runId);
    assert.equal(d.run.outcome, 'rehearsed');
    assert.equal(d.run.verb, 'rehearse');
    assert.equal((d.run.result as { map1?: string }).map1, 'a'.repeat(64));
    assert.equal(d.timings.length, 10);
    assert.ok(d.timings.every((t) => typeof t.seconds === 'number'));
    assert.ok(d.events.some((e) => e.event.type === 'log'));
    assert.equal(svc.get(h.runId), undefined, 'no longer active');
  });

  it('approve needs the review state and a choice for every conflict', async () => {
    fake = { conflicts: [{ path: 'etc/hello.conf', host: 'c'.repeat(64), sandbox: 'd'.repeat(64) }], delayMs: { preflight: 30 } };
    const h = svc.startRun('upgrade', { ...base, yes: false });
    assert.throws(() => svc.approve(h.runId), usage(/it is in preflight, not review/));
    await waitFor(h.actor, (s) => s.value === 'review');
    assert.throws(() => svc.approve(h.runId), usage(/every conflict first: etc\/hello.conf/));
    svc.approve(h.runId, { 'etc/hello.conf': 'sandbox' });
    const f = await h.finished;
    assert.equal(f.outcome, 'upgraded');
    assert.deepEqual(f.result.conflicts?.map((c) => c.path), ['etc/hello.conf']);
  });

  it('abort at review ends aborted (exit 1) and is recorded', async () => {
    fake = {};
    const h = svc.startRun('upgrade', { ...base, yes: false });
    await waitFor(h.actor, (s) => s.value === 'review');
    svc.abort(h.runId, 'not now');
    const f = await h.finished;
    assert.deepEqual([f.outcome, f.exitCode, f.result.error?.message], ['aborted', 1, 'not now']);
    assert.equal(svc.list({ outcome: 'aborted' })[0]?.id, h.runId);
  });

  it('cancel stops a running stage; its stage event says cancelled', async () => {
    fake = { hangAt: 'bootSandbox' };
    const h = svc.startRun('upgrade', base);
    await waitFor(h.actor, (s) => s.value === 'booting');
    svc.cancel(h.runId);
    const f = await h.finished;
    assert.equal(f.outcome, 'cancelled');
    const booting = seen.filter((e) => e.run === h.runId && e.type === 'stage' && e.stage === 'booting').map((e) => e.type === 'stage' && e.state);
    assert.deepEqual(booting, ['active', 'cancelled']);
  });

  it('a run that died before its first snapshot was saved resumes from the start', async () => {
    fake = {};
    const id = '20000101-000000-0000';
    svc.store.createRun({ id, verb: 'upgrade', target: base.target, input: { ...base, runId: id, kind: 'upgrade' }, state: 'preflight' });
    setOwner(svc.store.db, 'runs', id, null);
    const h = svc.resume(id.slice(0, 16));
    assert.equal(h.runId, id);
    assert.equal((await h.finished).outcome, 'upgraded');
  });

  it('resume refuses finished runs, unknown runs and runs another live process owns', async () => {
    const done = svc.list({ outcome: 'rehearsed' })[0]!;
    assert.throws(() => svc.resume(done.id), usage(/already finished/));
    assert.throws(() => svc.resume('19990101-000000-zzzz'), usage(/no run/));

    fake = { hangAt: 'captureHost' };
    const h = svc.startRun('upgrade', base);
    await waitFor(h.actor, (s) => s.value === 'capturing');
    assert.throws(() => svc.resume(h.runId), usage(/already running here/));
    const other = spawn('sleep', ['30']);
    try {
      setOwner(svc.store.db, 'runs', h.runId, other.pid!);
      const second = new RunService({ store: svc.store, services: () => fakeStageServices() });
      assert.throws(() => second.resume(h.runId), usage(new RegExp(`still running in process ${other.pid}`)));
    } finally { other.kill('SIGKILL'); }
    svc.cancel(h.runId);
    assert.equal((await h.finished).outcome, 'cancelled');
  });
});
