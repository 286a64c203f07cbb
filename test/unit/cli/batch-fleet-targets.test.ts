// A fleet file naming a host by a target that does not parse is refused as a whole (exit 2, the host named)
// before a batch is recorded; otherwise that host would only fail later as a run of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resultOf, runCli } from './run-cli.ts';

test('batch refuses a fleet file with an unparsable target, store untouched', () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-cli-fleet-'));
  const store = join(dir, 'store');
  try {
    const fleet = join(dir, 'fleet.yaml');
    writeFileSync(fleet, 'plan:\n  run: "true"\nhosts:\n  - target: dir:/srv/a\n  - target: ftp://web2\n');
    for (const mode of ['--yes', '--rehearse']) {
      const r = runCli(['batch', fleet, mode, '--store', store, '--json']);
      assert.equal(r.status, 2, r.stdout + r.stderr);
      const res = resultOf(r);
      assert.deepEqual([res.ok, res.error.code, res.batch], [false, 'usage', undefined]);
      assert.match(res.error.message, /fleet\.yaml: hosts\.1: target 'ftp:\/\/web2' is not dir:PATH/);
    }
    assert.equal(existsSync(store), false, 'no batch was recorded');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
