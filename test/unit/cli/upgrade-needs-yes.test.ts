// `upgrade` without --yes where nobody can answer the review prompt (stdin not a terminal, or --json) is
// refused up front (exit 2, store untouched) instead of rehearsing in full and then aborting at review.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resultOf, runCli } from './run-cli.ts';

test('upgrade without --yes off a terminal or with --json: usage error before any run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-cli-upgrade-yes-'));
  const store = join(dir, 'store');
  // a missing dir: host: had the run started, preflight would fail it (exit 1), no VM either way
  const args = ['upgrade', `dir:${join(dir, 'no-host')}`, '--run', 'true', '--store', store];
  try {
    const json = runCli([...args, '--json']);
    assert.equal(json.status, 2, json.stdout);
    assert.equal(resultOf(json).error.code, 'usage');
    assert.match(resultOf(json).error.message, /pass --yes/);
    const human = runCli(args); // spawnSync's stdin is a pipe, not a terminal
    assert.equal(human.status, 2);
    assert.match(human.stderr, /pass --yes when nobody can answer the review prompt \(not a terminal\)/);
    assert.equal(existsSync(store), false, 'no run was recorded');
    const yes = runCli([...args, '--yes', '--json']);
    assert.equal(yes.status, 1, 'with --yes the run starts (and fails in preflight: the host does not exist)');
    assert.equal(resultOf(yes).error.stage, 'preflight');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
