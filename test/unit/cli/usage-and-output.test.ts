// Contract details of the output: no verb is a usage error; every --json event names its run (null for verbs
// that are not workflow runs); a reader that goes away does not crash the CLI; assess's fail is ok:false.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLines, resultOf, runCli } from './run-cli.ts';

test('no verb: exit 2, help on stderr, and with --json the usage result line', () => {
  const bare = runCli([]);
  assert.equal(bare.status, 2);
  assert.match(bare.stderr, /Usage: understudy/);
  const r = runCli(['--json']);
  assert.equal(r.status, 2);
  assert.deepEqual([resultOf(r).ok, resultOf(r).error.code], [false, 'usage']);
  assert.match(resultOf(r).error.message, /no verb given/);
  assert.equal(runCli(['--help']).status, 0);
  assert.equal(runCli(['--version']).status, 0);
});

test('capture --json: every event line before the result carries type and run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-cli-events-'));
  try {
    mkdirSync(join(dir, 'host', 'etc'), { recursive: true });
    writeFileSync(join(dir, 'host', 'etc', 'hostname'), 'h\n');
    const r = runCli(['capture', `dir:${join(dir, 'host')}`, '--store', join(dir, 'store'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const lines = jsonLines(r);
    assert.ok(lines.length > 1, 'capture streams events');
    for (const e of lines.slice(0, -1)) {
      assert.ok(['progress', 'stage', 'log'].includes(e.type), JSON.stringify(e));
      assert.ok('run' in e, `event without run: ${JSON.stringify(e)}`);
    }
    assert.equal(resultOf(r).ok, true);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a reader that closes stdout early (| head -1) does not crash the CLI with EPIPE', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-cli-epipe-'));
  try {
    mkdirSync(join(dir, 'host', 'etc'), { recursive: true });
    writeFileSync(join(dir, 'host', 'etc', 'hostname'), 'h\n');
    const child = spawn(process.execPath, ['bin/understudy.mjs', 'capture', `dir:${join(dir, 'host')}`, '--store', join(dir, 'store'), '--json'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('assess: a fail verdict is exit 1 with ok:false and error {code, message}; a bad target is a usage error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-cli-assess-'));
  try {
    mkdirSync(join(dir, 'host'));
    const r = runCli(['assess', `dir:${join(dir, 'host')}`, '--store', join(dir, 'store'), '--json']);
    assert.equal(r.status, 1, r.stderr);
    const res = resultOf(r);
    assert.deepEqual([res.ok, res.verdict, res.error.code], [false, 'fail', 'assess-failed']);
    assert.match(res.error.message, /last verified map \(no map of this host/);
    for (const bad of ['web1', 'ssh://web1', 'dir:']) {
      const b = runCli(['assess', bad, '--store', join(dir, 'store'), '--json']);
      assert.equal(b.status, 2, bad);
      assert.match(resultOf(b).error.message, /not dir:PATH, ssh:\/\/USER@HOST\[:PORT\] or local|needs a path/, bad);
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a --store that is, or lies under, a file is a usage error naming it (not an internal ENOTDIR)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-cli-store-file-'));
  try {
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    for (const [verb, store] of [['maps', file], ['runs', join(file, 'sub', 'store')], ['verify', file]]) {
      const r = runCli([verb!, '--store', store!, '--json']);
      assert.equal(r.status, 2, `${verb} ${store}: ${r.stdout}`);
      assert.equal(resultOf(r).error.code, 'usage');
      assert.match(resultOf(r).error.message, new RegExp(`${file} exists and is not a directory`));
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
