import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { tapFailures } from '../../../scripts/tap-failures.mjs';

// The runner's closing summary is what CI keeps: it must name each failed test and its error,
// from the TAP that node's runner really writes (nested suites, multi-line errors).
test('lists each failed test with its location and error, not the suites around it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tap-failures-'));
  const file = join(dir, 'sample.test.mjs');
  writeFileSync(file, [
    "import { test, describe } from 'node:test';",
    "import assert from 'node:assert';",
    "describe('group', () => { test('inner fails', () => { assert.equal(1, 2, 'one is not two'); }); test('passes', () => {}); });",
    "test('top fails', () => { throw new Error('first line\\nsecond line'); });",
    "test('also passes', () => {});",
  ].join('\n'));
  // without NODE_TEST_CONTEXT, or the child reports to this runner instead of printing TAP
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', file], { encoding: 'utf8', env });
  assert.equal(run.status, 1);
  const blocks = tapFailures(run.stdout);
  assert.equal(blocks.length, 2);
  assert.match(blocks[0]!, /^✖ inner fails {2}\(.*sample\.test\.mjs:3:\d+\)\n {4}one is not two$/);
  assert.match(blocks[1]!, /^✖ top fails {2}\(.*sample\.test\.mjs:4:1\)\n {4}first line\n {4}second line$/);
  assert.deepEqual(tapFailures(run.stdout, 1)[1]!.split('\n').slice(1), ['    first line', '    … 1 more lines']);
});

test('a run with no failures lists nothing', () => {
  assert.deepEqual(tapFailures('TAP version 13\nok 1 - fine\n  ---\n  duration_ms: 1\n  ...\n1..1\n'), []);
});
