// resumeBatch on batch records as an orchestrator can leave them when it dies between two writes, built
// directly in a real SQLite store: a host whose run finished but whose report was not recorded, a follower
// of a shared rehearsal that died with the process, a run id recorded before its run was created; and the
// refusals (finished batch, batch or run owned by a live process, unknown id).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore } from '../../../main/app/run-store/run-store.ts';
import { MIGRATIONS } from '../../../main/app/run-store/schema.ts';
import { BatchStore } from '../../../main/app/run-store/batch-store.ts';
import { resumeBatch, type SavedBatchRequest } from '../../../main/app/runs/batch-runner.ts';
import { parseFleet } from '../../../main/app/runs/fleet-file.ts';
import { fakeStageServices } from '../../../main/adapters/fake/fake-stage-services.ts';
import { newBatch, startNext } from '../../../main/core/workflow/batch-plan.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';
import { setOwner } from '../helpers/record-owner.ts';

const hosts = parseFleet('plan:\n  run: apt-get install -y hello-service=2.0\nhosts:\n' + ['h1', 'h2', 'h3', 'h4'].map((h) => `  - target: dir:/srv/${h}\n`).join(''));
const request: SavedBatchRequest = { hosts, options: { canary: 0, parallel: 3, maxFail: { count: 0 } }, kind: 'upgrade', yes: true, adapterOptions: {} };
const input = (runId: string, target: string) => ({ runId, kind: 'upgrade', target, command: hosts[0]!.command, checks: [], health: [], yes: true, reboot: 'auto', options: {} });
/** What a killed orchestrator leaves of a follower of a shared rehearsal, interrupted in `state`. */
const followerSnapshot = (runId: string, target: string, state: string) => {
  const t = (stage: string, seconds?: number) => ({ startedAt: '2026-12-01T00:00:00.000Z', attempts: 1, ...(seconds !== undefined ? { seconds } : {}) });
  const map1 = 'a'.repeat(64);
  return { status: 'active', value: state, historyValue: {}, children: {}, context: {
    input: input(runId, target), map1, image: 'shared-rehearsal:' + map1, sandbox: { id: 'shared-rehearsal:' + map1 },
    timings: { preflight: t('preflight', 1), capturing: t('capturing', 1), building: t('building', 1), booting: t('booting', 0), [state]: t(state) },
  } };
};
const usage = (re: RegExp) => (e: unknown) => isUnderstudyError(e) && e.code === 'usage' && re.test(e.message);

describe('resumeBatch from saved states', () => {
  let dir: string;
  let store: RunStore;
  let batches: BatchStore;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'understudy-batch-states-')); store = new RunStore(dir); batches = new BatchStore(store); });
  after(() => { store.close(); rmSync(dir, { recursive: true, force: true }); });

  /** A batch with h1..h3 running (run ids r-<id>-h1..3) and h4 pending, as a killed orchestrator leaves it. */
  function killedBatch(id: string) {
    const st = startNext(newBatch(hosts.map((h) => h.target), request.options)).state;
    batches.create(id, 'upgrade', request, newBatch(hosts.map((h) => h.target), request.options));
    batches.saveState(id, st, ['h1', 'h2', 'h3'].map((h) => ({ target: `dir:/srv/${h}`, runId: `r-${id}-${h}` })));
  }

  it('finished-but-unrecorded runs are reported, not redone; a lost shared-rehearsal follower rewinds to building; a never-created run starts', async () => {
    killedBatch('b1');
    store.createRun({ id: 'r-b1-h1', verb: 'upgrade', target: 'dir:/srv/h1', input: input('r-b1-h1', 'dir:/srv/h1') });
    store.saveTransition('r-b1-h1', { state: 'done', snapshot: null, timings: {}, outcome: 'upgraded', result: { run: 'r-b1-h1', outcome: 'upgraded', map2: 'e'.repeat(64) } });
    store.createRun({ id: 'r-b1-h2', verb: 'upgrade', target: 'dir:/srv/h2', input: input('r-b1-h2', 'dir:/srv/h2') });
    store.saveTransition('r-b1-h2', { state: 'upgrading', snapshot: followerSnapshot('r-b1-h2', 'dir:/srv/h2', 'upgrading'), timings: {} });
    setOwner(store.db, 'runs', 'r-b1-h2', null);
    // r-b1-h3 was recorded in the batch but the process died before creating the run
    batches.saveState('b1', { ...startNext(newBatch(hosts.map((h) => h.target), request.options)).state,
      hosts: ['running', 'running', 'running', 'running'].map((status, i) => ({ target: hosts[i]!.target, status: status as 'running' })) },
    [{ target: 'dir:/srv/h4', runId: 'r-b1-h4' }]);
    store.createRun({ id: 'r-b1-h4', verb: 'upgrade', target: 'dir:/srv/h4', input: input('r-b1-h4', 'dir:/srv/h4') });
    store.saveTransition('r-b1-h4', { state: 'cancelled', snapshot: null, timings: {}, outcome: 'cancelled' }); // Ctrl-C, then killed

    const services = fakeStageServices();
    const r = await resumeBatch({ store, batchId: 'b1', services: () => services });
    assert.deepEqual(r.hosts.map((h) => h.outcome), ['upgraded', 'upgraded', 'upgraded', 'upgraded']);
    assert.equal(r.ok, true);
    assert.equal(services.count('preflight'), 2, 'h1 was not run again, h2 resumed past it (h3, h4 ran)');
    assert.notEqual(r.hosts[3]!.run, 'r-b1-h4', 'h4, cancelled by the interrupted batch, got a fresh run');
    assert.equal(store.events('r-b1-h4').length, 0, 'the cancelled run is left as it was');
    assert.deepEqual([r.hosts[0]!.run, r.hosts[0]!.result?.map2], ['r-b1-h1', 'e'.repeat(64)]);
    assert.equal(r.hosts[1]!.run, 'r-b1-h2', 'h2 continued its own run');
    assert.equal(store.get('r-b1-h2')?.outcome, 'upgraded');
    assert.ok(store.events('r-b1-h2').some((e) => e.event.type === 'log'
      && e.event.text === 'resumed: rewound from upgrading to building (the shared rehearsal it followed is gone)'));
    assert.equal(r.hosts[2]!.run, 'r-b1-h3', 'h3 started under the id recorded for it');
    assert.equal(store.get('r-b1-h3')?.outcome, 'upgraded');
    assert.deepEqual(r.resumed, ['dir:/srv/h2']);
    const rec = batches.get('b1')!;
    assert.equal(rec.hosts[1]!.runId, r.hosts[1]!.run);
    assert.equal(rec.ok, true);
    await assert.rejects(resumeBatch({ store, batchId: 'b1', services: () => services }), usage(/already finished \(ok\)/));
  });

  it('resume RUN of a lost shared-rehearsal follower alone: it rewinds to building and rehearses itself', () => {
    killedBatch('b3');
    store.createRun({ id: 'r-b3-h2', verb: 'upgrade', target: 'dir:/srv/h2', input: input('r-b3-h2', 'dir:/srv/h2') });
    store.saveTransition('r-b3-h2', { state: 'checking', snapshot: followerSnapshot('r-b3-h2', 'dir:/srv/h2', 'checking'), timings: {} });
    setOwner(store.db, 'runs', 'r-b3-h2', null); // its process is gone
    const child = join(import.meta.dirname, 'fixtures', 'batch-cli-child.ts');
    const r = spawnSync(process.execPath, ['--import', 'tsx', child, join(dir, 'b3.calls'), 'resume', 'r-b3-h2', '--store', dir, '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout.trim().split('\n').pop()!).outcome, 'upgraded');
    const calls = readFileSync(join(dir, 'b3.calls'), 'utf8').split('\n').filter((l) => l.startsWith('start ')).map((l) => l.split(' ')[1]);
    assert.deepEqual(calls.slice(0, 4), ['buildImage', 'placeSandbox', 'bootSandbox', 'runUpgrade'], 'it rehearsed itself from building on');
    assert.ok(!calls.includes('captureHost'), 'its map1 still stands');
  });

  it('refuses a batch or a host run that a live process owns, and unknown or ambiguous ids', async () => {
    killedBatch('b2-x');
    const live = process.ppid; // the test runner: alive, and not this process
    setOwner(store.db, 'batches', 'b2-x', live);
    await assert.rejects(resumeBatch({ store, batchId: 'b2-x', services: () => fakeStageServices() }), usage(new RegExp(`still running in process ${live}`)));
    setOwner(store.db, 'batches', 'b2-x', process.pid);
    store.createRun({ id: 'r-b2-x-h2', verb: 'upgrade', target: 'dir:/srv/h2', input: input('r-b2-x-h2', 'dir:/srv/h2') });
    setOwner(store.db, 'runs', 'r-b2-x-h2', live);
    await assert.rejects(resumeBatch({ store, batchId: 'b2', services: () => fakeStageServices() }), usage(/run r-b2-x-h2 \(host dir:\/srv\/h2\) of batch b2-x is running in process/));
    killedBatch('b2-y');
    await assert.rejects(resumeBatch({ store, batchId: 'b2', services: () => fakeStageServices() }), usage(/matches more than one batch/));
    await assert.rejects(resumeBatch({ store, batchId: 'nope', services: () => fakeStageServices() }), usage(/no batch 'nope'/));
  });

  it('resume with a prefix that names both a batch and a run is refused as ambiguous', () => {
    killedBatch('amb-batch');
    store.createRun({ id: 'amb-run', verb: 'upgrade', target: 'dir:/srv/h1', input: input('amb-run', 'dir:/srv/h1') });
    const child = join(import.meta.dirname, 'fixtures', 'batch-cli-child.ts');
    const r = spawnSync(process.execPath, ['--import', 'tsx', child, join(dir, 'amb.calls'), 'resume', 'amb', '--store', dir, '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(JSON.parse(r.stdout.trim().split('\n').pop()!).error.message, /'amb' matches a batch and a run; give more of the id/);
    assert.equal(batches.get('amb-batch')!.ownerPid, process.pid, 'nothing was resumed');
  });

  it('of two processes resuming a batch at once, one claims it', () => {
    killedBatch('b5');
    const dead = batches.get('b5')!.ownerPid;
    assert.equal(batches.claim('b5', dead), true);
    assert.equal(batches.claim('b5', dead! + 1), false, 'the owner changed since it was checked');
  });

  it('resume BATCH through the real CLI and engine: the recorded host is not redone, the pending one runs for real', () => {
    const real = join(dir, 'real');
    const s = new RunStore(real);
    const b = new BatchStore(s);
    const fleet = parseFleet('plan:\n  run: "true"\nhosts:\n  - target: dir:/nonexistent/understudy/h1\n  - target: dir:/nonexistent/understudy/h2\n');
    const st = newBatch(fleet.map((h) => h.target), { canary: 0, parallel: 1, maxFail: { count: 0 } });
    b.create('b6', 'upgrade', { ...request, hosts: fleet, options: st.options }, st);
    const done = { ...st, hosts: [{ target: fleet[0]!.target, status: 'passed' as const, outcome: 'upgraded' }, st.hosts[1]!] };
    b.saveState('b6', done, [{ target: fleet[0]!.target, runId: 'r-h1', report: { target: fleet[0]!.target, run: 'r-h1', outcome: 'upgraded', exitCode: 0 } }]);
    s.db.prepare('UPDATE batches SET owner_pid = NULL').run();
    s.close();
    const r = spawnSync(process.execPath, ['bin/understudy.mjs', 'resume', 'b6', '--store', real, '--json'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 1, r.stderr);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.deepEqual(res.hosts.map((h: { outcome: string }) => h.outcome), ['upgraded', 'failed']);
    assert.equal(res.hosts[0].run, 'r-h1');
    const s2 = new RunStore(real);
    try {
      const run2 = s2.get(res.hosts[1].run)!;
      assert.deepEqual([run2.target, run2.outcome], [fleet[1]!.target, 'failed'], 'h2 ran through the real preflight (its directory does not exist)');
      assert.equal(s2.list().length, 1, 'no run for h1');
      assert.equal(new BatchStore(s2).get('b6')!.finishedAt !== undefined, true);
    } finally { s2.close(); }
  });

  it('a store from before batches (schema v1) gains the batch tables when opened', () => {
    const old = join(dir, 'v1');
    mkdirSync(old);
    const s1 = new Database(join(old, 'runs.db'));
    s1.exec(MIGRATIONS[0]!);
    s1.pragma('user_version = 1');
    s1.close();
    const s2 = new RunStore(old);
    try {
      assert.equal(s2.db.pragma('user_version', { simple: true }), MIGRATIONS.length);
      assert.equal(new BatchStore(s2).available(), true);
    } finally { s2.close(); }
    const ro = new RunStore(old, { readonly: true });
    try { assert.deepEqual(new BatchStore(ro).unfinished(), []); } finally { ro.close(); }
  });
});
