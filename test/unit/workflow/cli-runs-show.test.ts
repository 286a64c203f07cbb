// `runs`, `show` and `resume` through the real CLI against a run store filled by real runs (fake services).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from 'xstate';
import { RunService } from '../../../main/app/runs/run-service.ts';
import { fakeStageServices, type FakeOptions } from '../../../main/adapters/fake/fake-stage-services.ts';
import { testInput } from './harness.ts';
import { setOwner } from '../helpers/record-owner.ts';

const { runId: _r, kind: _k, ...base } = testInput();

describe('runs / show / resume verbs', () => {
  let dir: string;
  const ids: Record<string, string> = {};
  const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/understudy.mjs', ...args, '--store', dir], { encoding: 'utf8' });
  const json = (r: { stdout: string }) => JSON.parse(r.stdout.trim().split('\n').pop()!);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'understudy-cli-runs-'));
    let fake: FakeOptions = {};
    const svc = new RunService({ store: dir, services: () => fakeStageServices(fake) });
    ids.rehearsed = svc.startRun('rehearse', { ...base, target: 'dir:/srv/web1' }).runId;
    await svc.get(ids.rehearsed)!.finished;
    fake = { checksFail: true };
    const h = svc.startRun('upgrade', { ...base, target: 'ssh://root@web2' });
    ids.checkFailed = h.runId;
    await h.finished;
    // an interrupted run: stopped in preflight, owned by a process that no longer exists
    fake = { hangAt: 'preflight' };
    const stuck = svc.startRun('upgrade', { ...base, target: join(dir, 'no-such-host').replace(/^/, 'dir:') });
    ids.interrupted = stuck.runId;
    await waitFor(stuck.actor, (x) => x.value === 'preflight');
    stuck.actor.stop();
    const dead = spawnSync('true').pid!;
    setOwner(svc.store.db, 'runs', ids.interrupted, dead);
    await svc.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs --json lists every run with state, outcome and duration', () => {
    const r = cli('runs', '--json');
    assert.equal(r.status, 0, r.stderr);
    const res = json(r);
    assert.equal(res.ok, true);
    const byId = Object.fromEntries(res.runs.map((x: { id: string }) => [x.id, x]));
    assert.equal(byId[ids.rehearsed!].outcome, 'rehearsed');
    assert.equal(byId[ids.checkFailed!].outcome, 'check-failed');
    assert.equal(byId[ids.interrupted!].interrupted, true);
    assert.equal(byId[ids.interrupted!].state, 'preflight');
    assert.ok(res.runs.every((x: { seconds: number }) => typeof x.seconds === 'number' && x.seconds >= 0));
  });

  it('runs filters by host and outcome; the human table has the columns', () => {
    assert.deepEqual(json(cli('runs', '--json', '--host', 'web2')).runs.map((x: { id: string }) => x.id), [ids.checkFailed]);
    assert.deepEqual(json(cli('runs', '--json', '--outcome', 'rehearsed')).runs.map((x: { id: string }) => x.id), [ids.rehearsed]);
    const t = cli('runs');
    assert.equal(t.status, 0);
    assert.match(t.stdout, /^RUN\s+VERB\s+TARGET\s+STATE\s+STARTED\s+DURATION/);
    assert.match(t.stdout, /interrupted at preflight/);
  });

  it('runs rejects a bad --outcome or --limit with exit 2', () => {
    const a = cli('runs', '--outcome', 'great');
    assert.equal(a.status, 2);
    assert.match(a.stderr, /--outcome must be one of/);
    assert.equal(cli('runs', '--limit', '0').status, 2);
  });

  it('show RUN --json gives stages with timings and the result', () => {
    // a prefix names a run when no other run shares it: ids made in the same second differ only in
    // their random tail (20261125-223104-9f3a), so the prefix is as long as this store needs
    const id = ids.checkFailed!;
    const others = Object.values(ids).filter((x) => x !== id);
    let n = 16;
    while (others.some((x) => x.startsWith(id.slice(0, n)))) n++;
    const r = cli('show', id.slice(0, n), '--json');
    assert.equal(r.status, 0, r.stderr);
    const res = json(r);
    assert.equal(res.run, ids.checkFailed);
    assert.equal(res.outcome, 'check-failed');
    const checking = res.stages.find((s: { stage: string }) => s.stage === 'checking');
    assert.equal(checking.state, 'failed');
    assert.equal(typeof checking.seconds, 'number');
    assert.deepEqual(res.result.checks, [{ cmd: 'test -x /usr/bin/hello-service', ok: false, exitCode: 1 }]);
    const human = cli('show', ids.rehearsed!);
    assert.match(human.stdout, /✓ capturing2/);
    assert.match(human.stdout, /package  hello-service 1\.0 -> 2\.0/);
  });

  it('show of an unknown run is a usage error', () => {
    const r = cli('show', 'nope', '--json');
    assert.equal(r.status, 2);
    assert.equal(json(r).error.code, 'usage');
  });

  it('resume refuses a finished run (exit 2)', () => {
    const done = cli('resume', ids.rehearsed!, '--json');
    assert.equal(done.status, 2);
    assert.match(json(done).error.message, /already finished \(rehearsed\)/);
  });

  it('resume re-enters preflight with the real services: the dir: host does not exist, so the run fails (exit 1) and is recorded', () => {
    const r = cli('resume', ids.interrupted!, '--json');
    assert.equal(r.status, 1, r.stderr);
    const res = json(r);
    assert.equal(res.ok, false);
    // with the real stage services the run is driven and recorded; without them nothing runs at all
    if (res.error.code !== 'not-implemented') {
      assert.equal(res.run, ids.interrupted);
      assert.equal(res.outcome, 'failed');
      assert.equal(json(cli('show', ids.interrupted!, '--json')).outcome, 'failed');
    }
  });
});
