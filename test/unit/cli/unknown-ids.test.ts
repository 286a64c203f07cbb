// Unknown ids, as docs/cli.md documents them: an unknown run or batch is a usage error (exit 2),
// an unknown map is map-not-found (exit 1); either way the message names the id and an empty store is not
// created by looking. Listing batches of an empty store answers with batches, not runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resultOf, runCli } from './run-cli.ts';

test('unknown run and batch ids: exit 2, named, and the store is not created', () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-cli-ids-'));
  const store = join(dir, 'store');
  try {
    for (const args of [['show', 'no-such-run'], ['resume', 'no-such-run'], ['batch', '--resume', 'no-such-run']]) {
      const r = runCli([...args, '--store', store, '--json']);
      assert.equal(r.status, 2, args.join(' '));
      const res = resultOf(r);
      assert.deepEqual([res.ok, res.error.code], [false, 'usage'], args.join(' '));
      assert.match(res.error.message, /'no-such-run'/);
      assert.equal(existsSync(store), false, `${args.join(' ')} left the store alone`);
    }
    for (const [args, key] of [[['runs'], 'runs'], [['runs', '--batches'], 'batches']] as const) {
      const r = runCli([...args, '--store', store, '--json']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(resultOf(r), { type: 'result', ok: true, [key]: [] }, args.join(' '));
    }
    assert.equal(existsSync(store), false);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('unknown map ids: map-not-found, exit 1, the id named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-cli-ids-'));
  const store = join(dir, 'store');
  try {
    mkdirSync(join(dir, 'host'));
    writeFileSync(join(dir, 'host', 'f'), 'x');
    assert.equal(runCli(['capture', `dir:${join(dir, 'host')}`, '--store', store]).status, 0, 'a store with one map');
    for (const args of [['verify', 'abc123'], ['diff', 'abc123', 'def456'], ['restore', 'abc123', join(dir, 'out')]]) {
      const r = runCli([...args, '--store', store, '--json']);
      assert.equal(r.status, 1, args.join(' '));
      const res = resultOf(r);
      assert.deepEqual([res.ok, res.error.code], [false, 'map-not-found'], args.join(' '));
      assert.match(res.error.message, /abc123/);
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
