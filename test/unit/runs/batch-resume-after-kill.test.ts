// A batch whose orchestrator is killed with SIGKILL (or interrupted with SIGINT) mid-batch, then resumed as
// one: real child processes running the batch/resume CLI verbs, a real SQLite run store, fake stage services
// that log every call per host (test/unit/runs/fixtures/batch-cli-child.ts). Asserts which hosts ran
// again, the outcomes, the per-host reports and the exit codes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore } from '../../../main/app/run-store/run-store.ts';
import { BatchStore } from '../../../main/app/run-store/batch-store.ts';

const child = join(import.meta.dirname, 'fixtures', 'batch-cli-child.ts');
type Child = { proc: ChildProcess; lines: string[]; exited: Promise<number | null> };
interface Call { phase: string; name: string; target: string; run: string }

describe('batch resume after kill -9', () => {
  let dir: string;
  const procs: ChildProcess[] = [];
  before(() => { dir = mkdtempSync(join(tmpdir(), 'understudy-batch-resume-')); });
  after(() => { for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); });

  /** One test's store, call log and fleet file. */
  function setup(name: string, hosts: string[], failing: string[] = []) {
    const store = join(dir, name, 'store');
    const log = join(dir, name, 'calls');
    const fleet = join(dir, name, 'fleet.yaml');
    const lines = hosts.map((h) => `  - target: dir:/srv/${h}` + (failing.includes(h) ? '\n    checks: ["false"]' : ''));
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(fleet, `plan:\n  run: apt-get install -y hello-service=2.0\n  checks: ["test -x /usr/bin/hello-service"]\nhosts:\n${lines.join('\n')}\n`);
    const run = (args: string[], hang: string[] = []): Child => {
      const proc = spawn(process.execPath, ['--import', 'tsx', child, log, ...args, '--store', store, '--json'], {
        stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BATCH_HANG: hang.join(',') },
      });
      procs.push(proc);
      const out: string[] = [];
      let buf = '';
      proc.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        let i;
        while ((i = buf.indexOf('\n')) >= 0) { out.push(buf.slice(0, i)); buf = buf.slice(i + 1); }
      });
      proc.stderr!.on('data', () => {});
      return { proc, lines: out, exited: new Promise((r) => proc.on('exit', (code) => r(code))) };
    };
    const calls = (): Call[] => (existsSync(log) ? readFileSync(log, 'utf8') : '').split('\n').filter(Boolean)
      .map((l) => { const [phase, name, target, run] = l.split(' ') as [string, string, string, string]; return { phase, name, target, run }; });
    const starts = (name: string, target: string, run?: string) =>
      calls().filter((c) => c.phase === 'start' && c.name === name && c.target === `dir:/srv/${target}` && (!run || c.run === run)).length;
    return { store, fleet, run, calls, starts };
  }

  const result = (c: Child) => JSON.parse(c.lines[c.lines.length - 1]!) as Record<string, any>;
  const batchIdOf = async (c: Child) => {
    await until('the batch id', () => c.lines.some((l) => JSON.parse(l).batch));
    return JSON.parse(c.lines.find((l) => JSON.parse(l).batch)!).batch as string;
  };
  const outcomes = (r: Record<string, any>) => r.hosts.map((h: { target: string; outcome: string }) => `${h.target.slice(9)}:${h.outcome}`);

  /** Reads the batch and its runs from the store while a child owns it. */
  function reader(store: string) {
    const runs = new RunStore(store);
    const batches = new BatchStore(runs);
    const host = (id: string, h: string) => batches.get(id)!.hosts.find((x) => x.target === `dir:/srv/${h}`)!;
    return { runs, batches, host, state: (id: string, h: string) => { const r = host(id, h).runId; return r ? runs.get(r)?.state : undefined; } };
  }

  async function kill(c: Child) { c.proc.kill('SIGKILL'); await c.exited; }

  it('killed with the canary done, two hosts running and two pending: resume finishes it without redoing anything', async () => {
    const t = setup('mid', ['h1', 'h2', 'h3', 'h4', 'h5'], ['h4']);
    const opts = ['--yes', '--canary', '1', '--parallel', '2', '--max-fail', '1'];
    const first = t.run(['batch', t.fleet, ...opts], ['swap@dir:/srv/h2', 'captureHost@dir:/srv/h3']);
    const id = await batchIdOf(first);
    const r = reader(t.store);
    try {
      await until('h2 swapping and h3 capturing', () => r.state(id, 'h2') === 'swapping' && r.state(id, 'h3') === 'capturing'
        && t.starts('swap', 'h2') === 1 && t.starts('captureHost', 'h3') === 1);
      await kill(first);
      const before = r.batches.get(id)!;
      assert.deepEqual(before.hosts.map((h) => h.status), ['passed', 'running', 'running', 'pending', 'pending']);
      assert.equal(before.finishedAt, undefined);
      const runIds = Object.fromEntries(before.hosts.map((h) => [h.target.slice(9), h.runId]));

      // starting the same fleet again would redo h1: refused, pointing to resume
      const again = t.run(['batch', t.fleet, ...opts]);
      assert.equal(await again.exited, 2);
      assert.match(result(again).error.message, new RegExp(`batch ${id} over this fleet did not finish \\(1 of 5 hosts done\\).*understudy resume ${id}`));

      const listed = t.run(['runs', '--batches']);
      assert.equal(await listed.exited, 0);
      const [listedBatch] = result(listed).batches;
      assert.deepEqual([listedBatch.batch, listedBatch.state, listedBatch.done, listedBatch.fleet], [id, 'interrupted', 1, t.fleet]);
      assert.deepEqual(listedBatch.hosts.map((h: { status: string; run: string | null }) => [h.status, h.run]),
        [['passed', runIds.h1], ['running', runIds.h2], ['running', runIds.h3], ['pending', null], ['pending', null]]);
      // h1's report was written when it finished, before the kill
      assert.equal(JSON.parse(readFileSync(join(t.store, 'batches', id, 'dir_srv_h1.json'), 'utf8')).outcome, 'upgraded');
      assert.equal(existsSync(join(t.store, 'batches', id, 'dir_srv_h2.json')), false);

      const second = t.run(['resume', id]);
      assert.equal(await second.exited, 4, 'h4 failed its check in the sandbox (exit 4); the rest upgraded');
      const res = result(second);
      assert.equal(res.batch, id);
      assert.deepEqual(outcomes(res), ['h1:upgraded', 'h2:upgraded', 'h3:upgraded', 'h4:check-failed', 'h5:upgraded']);
      assert.deepEqual([res.ok, res.passed, res.failed, res.skipped, res.stopped], [false, 4, 1, 0, undefined]);
      assert.deepEqual([...res.resumed].sort(), ['dir:/srv/h2', 'dir:/srv/h3']);
      // h1..h3 kept their runs; h1 was not redone, h2 and h3 re-entered their interrupted stage only
      assert.deepEqual(res.hosts.slice(0, 3).map((h: { run: string }) => h.run), [runIds.h1, runIds.h2, runIds.h3]);
      assert.equal(t.starts('preflight', 'h1'), 1);
      assert.equal(t.starts('swap', 'h1'), 1);
      assert.deepEqual([t.starts('captureHost', 'h2', runIds.h2), t.starts('swap', 'h2', runIds.h2), t.starts('checkHealth', 'h2')], [1, 2, 1]);
      assert.deepEqual([t.starts('preflight', 'h3', runIds.h3), t.starts('captureHost', 'h3', runIds.h3), t.starts('swap', 'h3')], [1, 2, 1]);
      for (const h of ['h4', 'h5']) assert.equal(t.starts('preflight', h), 1, `${h} started once, after the resume`);
      assert.equal(t.starts('swap', 'h4'), 0);
      assert.ok(r.runs.events(runIds.h2!).some((e) => e.event.type === 'log' && e.event.text === 'resumed at swapping'));
      // a complete JSON report per host
      const reports = Object.fromEntries(readdirSync(res.reports).map((f) => [f, JSON.parse(readFileSync(join(res.reports, f), 'utf8'))]));
      assert.deepEqual(Object.keys(reports).sort(), ['dir_srv_h1.json', 'dir_srv_h2.json', 'dir_srv_h3.json', 'dir_srv_h4.json', 'dir_srv_h5.json']);
      assert.deepEqual([reports['dir_srv_h1.json'].run, reports['dir_srv_h1.json'].outcome, reports['dir_srv_h1.json'].result.map2], [runIds.h1, 'upgraded', 'b'.repeat(64)]);
      assert.deepEqual([reports['dir_srv_h4.json'].outcome, reports['dir_srv_h4.json'].exitCode], ['check-failed', 4]);
      const after = r.batches.get(id)!;
      assert.ok(after.finishedAt);
      assert.equal(after.ok, false);

      const third = t.run(['resume', id]);
      assert.equal(await third.exited, 2);
      assert.match(result(third).error.message, /already finished/);
    } finally { r.runs.close(); }
  });

  it('killed while the owner of a shared rehearsal upgrades: it rewinds to a new sandbox, and its rehearsal still serves the follower', async () => {
    const t = setup('shared', ['h1', 'h2']);
    const first = t.run(['batch', t.fleet, '--yes', '--canary', '0', '--parallel', '2'], ['runUpgrade@dir:/srv/h1', 'runUpgrade@dir:/srv/h2']);
    const id = await batchIdOf(first);
    const r = reader(t.store);
    try {
      // one of the two owns the rehearsal (it upgrades); the other waits for its result in building
      await until('the owner upgrading', () => t.starts('runUpgrade', 'h1') + t.starts('runUpgrade', 'h2') === 1);
      const owner = t.starts('runUpgrade', 'h1') === 1 ? 'h1' : 'h2';
      const follower = owner === 'h1' ? 'h2' : 'h1';
      await until('states persisted', () => r.state(id, owner) === 'upgrading' && r.state(id, follower) === 'building');
      await kill(first);
      const seen = t.calls().length;

      const second = t.run(['resume', id]);
      assert.equal(await second.exited, 0);
      const res = result(second);
      assert.deepEqual(outcomes(res), ['h1:upgraded', 'h2:upgraded']);
      assert.equal(res.rehearsals, 1, 'one rehearsal for both, after the resume too');
      const later = t.calls().slice(seen).filter((c) => c.phase === 'start');
      assert.deepEqual(later.filter((c) => c.name === 'bootSandbox').length, 1, 'one new sandbox');
      assert.equal(later.filter((c) => c.name === 'captureSandbox').length, 1);
      assert.equal(later.filter((c) => c.name === 'captureHost').length, 0, 'neither host was captured again');
      assert.deepEqual([...res.resumed].sort(), ['dir:/srv/h1', 'dir:/srv/h2']);
      const ownerRun = r.host(id, owner).runId!;
      assert.ok(r.runs.events(ownerRun).some((e) => e.event.type === 'log' && e.event.text === 'resumed: rewound from upgrading to booting (sandbox gone)'));
    } finally { r.runs.close(); }
  });

  it('killed while the canary runs: on resume nothing else starts before the canary passed', async () => {
    const t = setup('canary', ['h1', 'h2', 'h3', 'h4']);
    const first = t.run(['batch', t.fleet, '--yes', '--canary', '1', '--parallel', '3'], ['checkHealth@dir:/srv/h1']);
    const id = await batchIdOf(first);
    const r = reader(t.store);
    try {
      await until('the canary in health', () => r.state(id, 'h1') === 'health' && t.starts('checkHealth', 'h1') === 1);
      await kill(first);
      assert.deepEqual(r.batches.get(id)!.hosts.map((h) => [h.status, h.runId !== undefined]), [['running', true], ['pending', false], ['pending', false], ['pending', false]]);
      const seen = t.calls().length;
      const second = t.run(['batch', '--resume', id]);
      assert.equal(await second.exited, 0);
      assert.deepEqual(outcomes(result(second)), ['h1:upgraded', 'h2:upgraded', 'h3:upgraded', 'h4:upgraded']);
      const later = t.calls().slice(seen);
      const canaryDone = later.findIndex((c) => c.phase === 'end' && c.name === 'checkHealth' && c.target === 'dir:/srv/h1');
      const firstOther = later.findIndex((c) => c.target !== 'dir:/srv/h1');
      assert.ok(canaryDone >= 0 && firstOther > canaryDone, 'the other hosts start only after the resumed canary passed');
      assert.equal(t.starts('preflight', 'h1'), 1);
    } finally { r.runs.close(); }
  });

  it('killed after max-fail stopped the batch: resume finishes the running host only; skipped hosts stay skipped', async () => {
    const t = setup('maxfail', ['h1', 'h2', 'h3', 'h4'], ['h2']);
    const first = t.run(['batch', t.fleet, '--yes', '--canary', '0', '--parallel', '2', '--max-fail', '0'], ['swap@dir:/srv/h1']);
    const id = await batchIdOf(first);
    const r = reader(t.store);
    try {
      await until('h2 failed and h1 swapping', () => r.host(id, 'h2').status === 'failed' && r.state(id, 'h1') === 'swapping' && t.starts('swap', 'h1') === 1);
      await kill(first);
      assert.match(r.batches.get(id)!.stopped ?? '', /more than --max-fail allows \(0\)/);

      const changed = t.run(['batch', '--resume', id, '--parallel', '3']);
      assert.equal(await changed.exited, 2);
      assert.match(result(changed).error.message, /keeps the options it started with; drop --parallel/);

      const second = t.run(['batch', t.fleet, '--resume', id]);
      assert.equal(await second.exited, 4);
      const res = result(second);
      assert.deepEqual(outcomes(res), ['h1:upgraded', 'h2:check-failed', 'h3:skipped', 'h4:skipped']);
      assert.match(res.stopped, /more than --max-fail allows \(0\)/);
      assert.deepEqual(res.resumed, ['dir:/srv/h1']);
      assert.equal(t.calls().filter((c) => c.target === 'dir:/srv/h3' || c.target === 'dir:/srv/h4').length, 0, 'skipped hosts never ran');
      assert.equal(t.starts('runChecks', 'h2'), 1);
    } finally { r.runs.close(); }
  });

  it('interrupted with SIGINT: running hosts are cancelled back to pending (not failures); resume runs them afresh', async () => {
    const t = setup('sigint', ['h1', 'h2', 'h3']);
    const first = t.run(['batch', t.fleet, '--yes', '--canary', '0', '--parallel', '2'], ['captureHost@dir:/srv/h1', 'captureHost@dir:/srv/h2']);
    const id = await batchIdOf(first);
    const r = reader(t.store);
    try {
      await until('h1 and h2 capturing', () => t.starts('captureHost', 'h1') === 1 && t.starts('captureHost', 'h2') === 1);
      const cancelled = [r.host(id, 'h1').runId!, r.host(id, 'h2').runId!];
      first.proc.kill('SIGINT');
      assert.equal(await first.exited, 1);
      const res1 = result(first);
      assert.equal(res1.interrupted, true);
      assert.deepEqual([res1.error.code, res1.failed], ['cancelled', 0]);
      assert.match(res1.error.message, new RegExp(`understudy resume ${id}`));
      assert.deepEqual(r.batches.get(id)!.hosts.map((h) => h.status), ['pending', 'pending', 'pending']);
      for (const run of cancelled) assert.equal(r.runs.get(run)?.outcome, 'cancelled');

      const second = t.run(['resume', id]);
      assert.equal(await second.exited, 0);
      const res = result(second);
      assert.deepEqual(outcomes(res), ['h1:upgraded', 'h2:upgraded', 'h3:upgraded']);
      assert.deepEqual(res.resumed, []);
      assert.ok(!cancelled.includes(res.hosts[0].run) && !cancelled.includes(res.hosts[1].run), 'fresh runs for the cancelled hosts');
      assert.equal(t.starts('swap', 'h1'), 1);
    } finally { r.runs.close(); }
  });
});

async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
