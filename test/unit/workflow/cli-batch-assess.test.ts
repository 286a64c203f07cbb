// `batch` and `assess` through the real CLI: argument checking, a canary that cannot run (its dir: host
// does not exist), the report files, and the protection report on an empty store.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('batch / assess verbs', () => {
  let dir: string;
  let fleet: string;
  const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/understudy.mjs', ...args, '--store', join(dir, 'store')], { encoding: 'utf8' });
  const json = (r: { stdout: string }) => JSON.parse(r.stdout.trim().split('\n').pop()!);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'understudy-cli-batch-'));
    fleet = join(dir, 'fleet.yaml');
    writeFileSync(fleet, 'plan:\n  run: "true"\nhosts:\n  - target: dir:/srv/a\n  - target: dir:/srv/b\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('batch checks its options and the fleet file (exit 2)', () => {
    assert.equal(cli('batch', fleet).status, 2, 'upgrade without --yes');
    assert.match(json(cli('batch', fleet, '--json')).error.message, /needs --yes/);
    assert.equal(cli('batch', fleet, '--yes', '--max-fail', 'lots').status, 2);
    assert.equal(cli('batch', fleet, '--yes', '--parallel', '0').status, 2);
    assert.equal(cli('batch', join(dir, 'missing.yaml'), '--yes').status, 2);
  });

  it('batch: the canary (a dir: host that does not exist) fails, the rest is skipped, a report per host is written', () => {
    const r = cli('batch', fleet, '--yes', '--json');
    assert.equal(r.status, 1, r.stderr);
    const res = json(r);
    assert.equal(res.ok, false);
    assert.deepEqual(res.hosts.map((h: { outcome: string }) => h.outcome), ['failed', 'skipped']);
    assert.deepEqual(readdirSync(res.reports).sort(), ['dir_srv_a.json', 'dir_srv_b.json']);
    assert.equal(JSON.parse(readFileSync(join(res.reports, 'dir_srv_a.json'), 'utf8')).target, 'dir:/srv/a');
  });

  it('assess reports a verdict per item; no map is a fail (exit 1), unwired probes are unknown', () => {
    const r = cli('assess', 'dir:/srv/a', '--json');
    assert.equal(r.status, 1, r.stderr);
    const res = json(r);
    assert.equal(res.verdict, 'fail');
    const by = Object.fromEntries(res.items.map((i: { name: string; verdict: string }) => [i.name, i.verdict]));
    assert.deepEqual(by, { 'last verified map': 'fail', 'store intact': 'unknown', 'rollback point': 'warn', 'host journal clean': 'unknown', 'free space for a swap': 'unknown' });
    assert.equal(cli('assess', 'web1').status, 2);
  });
});
