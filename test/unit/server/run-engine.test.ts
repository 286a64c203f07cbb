// The engine facade over the real run store and runner, driven through the contract's in-process
// transport and command router, with the workflow's fake stage services.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { fakeStageServices, type FakeOptions } from '../../../main/adapters/fake/fake-stage-services.ts';
import { createInProcessTransport } from '../../../main/contract/in-process-transport.ts';
import type { EventPayload, RunStatus, Transport } from '../../../main/contract/index.ts';
import { createCommandRouter } from '../../../main/server/command-router.ts';
import { createEngine } from '../../../main/server/engine.ts';
import { RunStore } from '../../../main/app/run-store/run-store.ts';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setOwner } from '../helpers/record-owner.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => { for (const c of cleanups.splice(0)) await c(); });

async function setup(fake: FakeOptions = {}, seed?: (store: string) => void) {
  const store = mkdtempSync(join(tmpdir(), 'understudy-engine-'));
  seed?.(store);
  const services = fakeStageServices(fake);
  const engine = await createEngine({ store, services });
  const transport = createInProcessTransport(createCommandRouter(engine), (emit) => engine.subscribe({
    event: (e) => emit('run:event', e), updated: (s) => emit('run:updated', s),
  }));
  const events: Array<EventPayload<'run:event'>> = [];
  transport.on('run:event', (e) => events.push(e));
  cleanups.push(async () => { transport.close(); await engine.close(5000); rmSync(store, { recursive: true, force: true }); });
  return { transport, services, events };
}

function waitStatus(t: Transport, run: string, want: RunStatus[]): Promise<RunStatus> {
  return new Promise((resolve) => {
    const check = async () => {
      const env = await t.invoke('runs:get', { run });
      if (env.ok && want.includes(env.value.status)) { off(); resolve(env.value.status); }
    };
    const off = t.on('run:updated', (s) => { if (s.id === run) void check(); });
    void check();
  });
}

const start = (t: Transport, over: Record<string, unknown> = {}) => t.invoke('run:start', {
  kind: 'upgrade', target: 'dir:/srv/web2', run: 'apt-get install -y hello-service=2.0', checks: ['true'], health: ['true'], ...over,
});

test('a rehearsal runs every stage, streams events and ends done with its evidence', async () => {
  const { transport: t, events } = await setup();
  const started = await start(t, { kind: 'rehearse' });
  assert.ok(started.ok);
  const run = started.value.run;
  assert.equal(await waitStatus(t, run, ['done', 'failed']), 'done');
  const d = await t.invoke('runs:get', { run });
  assert.ok(d.ok);
  assert.equal(d.value.outcome, 'rehearsed');
  assert.deepEqual(d.value.stages.map((s) => [s.name, s.state]), [
    ['preflight', 'done'], ['capturing', 'done'], ['building', 'done'], ['waiting for a hypervisor', 'done'], ['booting', 'done'], ['upgrading', 'done'],
    ['checking', 'done'], ['capturing2', 'done'], ['rebooting', 'skipped'], ['releasing', 'done'],
  ]);
  assert.match(d.value.stages.find((s) => s.name === 'rebooting')?.note ?? '', /nothing that boots changed/);
  assert.equal(d.value.review?.reboot?.rehearsed, false);
  assert.deepEqual(d.value.review?.packages.upgraded, [{ name: 'hello-service', from: '1.0', to: '2.0' }]);
  assert.deepEqual(d.value.review?.files.changed, ['usr/bin/hello-service']);
  assert.equal(d.value.canRollback, false, 'a rehearsal touched nothing to roll back');
  assert.ok(d.value.logs.some((l) => l.text.includes('apt-get install -y hello-service=2.0')), 'logs come back from the store');
  assert.ok(events.some((e) => e.type === 'stage' && e.stage === 'booting' && e.state === 'active'));
  assert.ok(events.some((e) => e.type === 'progress' && e.stage === 'capturing'));
  assert.ok(events.every((e) => e.run === run));
});

test('an upgrade waits at review; approve needs every conflict chosen; rollback once', async () => {
  const { transport: t, services } = await setup({ conflicts: [{ path: 'etc/a.conf', host: 'edited', sandbox: 'changed' }] });
  const started = await start(t);
  assert.ok(started.ok);
  const run = started.value.run;
  assert.equal(await waitStatus(t, run, ['review', 'failed']), 'review');
  assert.equal(services.count('swap'), 0, 'nothing is swapped before approval');
  const d = await t.invoke('runs:get', { run });
  assert.ok(d.ok);
  assert.deepEqual(d.value.review?.conflicts.map((c) => c.path), ['etc/a.conf']);
  assert.deepEqual(d.value.review?.disruption, { restart: [], reboot: false, reason: 'dir: target: nothing runs there' });

  const approved = await t.invoke('run:approve', { run, choices: [{ path: 'etc/a.conf', prefer: 'sandbox' }] });
  assert.ok(approved.ok);
  assert.equal(await waitStatus(t, run, ['done', 'failed']), 'done');
  const done = await t.invoke('runs:get', { run });
  assert.ok(done.ok);
  assert.equal(done.value.outcome, 'upgraded');
  assert.equal(done.value.canRollback, true);
  assert.equal(services.count('swap'), 1);

  const rb = await t.invoke('run:rollback', { run });
  assert.ok(rb.ok);
  assert.equal(await waitStatus(t, rb.value.run, ['done', 'failed']), 'done');
  const rbd = await t.invoke('runs:get', { run: rb.value.run });
  assert.ok(rbd.ok);
  assert.equal(rbd.value.kind, 'rollback');
  assert.equal(rbd.value.outcome, 'rolled-back');
  assert.equal(rbd.value.rollbackOf, run);
  assert.equal(services.count('rollback'), 1);
  const again = await t.invoke('run:rollback', { run });
  assert.equal(again.ok, false, 'a swap is rolled back once');
  const list = await t.invoke('runs:list', { outcome: 'rolled-back' });
  assert.ok(list.ok);
  assert.deepEqual(list.value.map((r) => r.id), [rb.value.run]);
});

test('abort at review leaves the host untouched; approve outside review is refused', async () => {
  // preflight is slow enough that the approve below certainly arrives before the review gate.
  const { transport: t, services } = await setup({ delayMs: { preflight: 400 } });
  const started = await start(t);
  assert.ok(started.ok);
  const run = started.value.run;
  const early = await t.invoke('run:approve', { run });
  assert.equal(early.ok, false);
  if (!early.ok) assert.equal(early.error.code, 'usage');
  assert.equal(await waitStatus(t, run, ['review', 'done']), 'review');
  assert.ok((await t.invoke('run:abort', { run })).ok);
  assert.equal(await waitStatus(t, run, ['aborted', 'failed', 'done']), 'aborted');
  assert.equal(services.count('swap'), 0);
  const late = await t.invoke('run:approve', { run });
  assert.equal(late.ok, false);
});

test('cancel stops a hanging stage and cleans up the sandbox', async () => {
  const { transport: t, services } = await setup({ hangAt: 'runUpgrade' });
  const started = await start(t);
  assert.ok(started.ok);
  const run = started.value.run;
  await new Promise<void>((resolve) => {
    const off = t.on('run:event', (e) => { if (e.type === 'stage' && e.stage === 'upgrading' && e.state === 'active') { off(); resolve(); } });
  });
  assert.ok((await t.invoke('run:cancel', { run })).ok);
  assert.equal(await waitStatus(t, run, ['cancelled', 'failed', 'done']), 'cancelled');
  assert.ok(services.calls.some((c) => c.name === 'runUpgrade' && c.phase === 'abort'));
  assert.ok(services.count('releaseSandbox') >= 1);
  const d = await t.invoke('runs:get', { run });
  assert.ok(d.ok);
  assert.equal(d.value.stages.find((s) => s.name === 'upgrading')?.state, 'cancelled');
});

test('bad arguments never reach the engine', async () => {
  const { transport: t, services } = await setup();
  const bad = await t.invoke('run:start', { kind: 'upgrade', target: '', run: 'x' });
  assert.equal(bad.ok, false);
  if (!bad.ok) assert.match(bad.error.message, /target/);
  assert.equal(services.calls.length, 0);
  const runs = await t.invoke('runs:list', {});
  assert.deepEqual(runs, { ok: true, value: [] });
});

test('a run driven by another live process shows as running; once that process is gone, interrupted', async () => {
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    const { transport: t } = await setup({}, (store) => {
      const rs = new RunStore(store);
      rs.createRun({ id: '20261125-230000-beef', verb: 'upgrade', target: 'dir:/srv/cli', input: {}, state: 'upgrading' });
      setOwner(rs.db, 'runs', '20261125-230000-beef', other.pid!);
      rs.close();
    });
    const running = await t.invoke('runs:list', {});
    assert.ok(running.ok);
    assert.equal(running.value[0]?.status, 'running');
    assert.equal(running.value[0]?.stage, 'upgrading');
    other.kill('SIGKILL');
    await new Promise((r) => other.once('exit', r));
    const gone = await t.invoke('runs:list', {});
    assert.ok(gone.ok);
    assert.equal(gone.value[0]?.status, 'interrupted');
  } finally {
    other.kill('SIGKILL');
  }
});

test('an interrupted run (its process killed -9) can be resumed from the UI', async () => {
  let storeDir = '';
  const { transport: t } = await setup({}, (store) => { storeDir = store; });
  const callLog = join(storeDir, 'calls.log');
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'run-store', 'fixtures', 'run-child.ts'), storeDir, callLog, 'start', 'runUpgrade'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  const run = (JSON.parse(first) as { runId: string }).runId;
  while (!(existsSync(callLog) && readFileSync(callLog, 'utf8').includes('start runUpgrade'))) {
    assert.equal(child.exitCode, null, 'the orchestrator child died before reaching runUpgrade');
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const d = await t.invoke('runs:get', { run });
  assert.ok(d.ok);
  assert.equal(d.value.status, 'interrupted');
  assert.ok((await t.invoke('run:resume', { run })).ok);
  assert.equal(await waitStatus(t, run, ['done', 'failed']), 'done');
  const after = await t.invoke('runs:get', { run });
  assert.ok(after.ok);
  assert.equal(after.value.outcome, 'upgraded');
});
