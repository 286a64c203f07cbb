// A run-driving verb's last line: a failed outcome always carries error {code, message}, as the contract says,
// also when the workflow recorded none; the exit code is the outcome's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { printRunFinish } from '../../../main/cli/render/run-finish.ts';
import { makeOutput } from '../../../main/cli/output.ts';
import type { RunFinish } from '../../../main/app/runs/runner.ts';

function finish(f: RunFinish): Record<string, any> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => { text += d.toString(); });
  const code = printRunFinish(makeOutput(true), f, out, new PassThrough());
  return { code, line: JSON.parse(text.trim()) as Record<string, any> };
}

const base = { run: 'r1', kind: 'rehearse', target: 'dir:/srv/h', state: 'check-failed', timings: { checking: 1 } };

test('a failed outcome without a recorded error still gets {code, message}', () => {
  const { code, line } = finish({ outcome: 'check-failed', exitCode: 4, result: { ...base, outcome: 'check-failed' } });
  assert.equal(code, 4);
  assert.deepEqual([line.type, line.ok, line.error.code], ['result', false, 'check-failed']);
  assert.equal(typeof line.error.message, 'string');
});

test('a recorded error is kept as it is; a success has none', () => {
  const error = { code: 'conflict', message: 'the host drifted', stage: 'review' };
  assert.deepEqual(finish({ outcome: 'conflict', exitCode: 5, result: { ...base, state: 'conflict', outcome: 'conflict', error } }).line.error, error);
  const ok = finish({ outcome: 'rehearsed', exitCode: 0, result: { ...base, state: 'rehearsed', outcome: 'rehearsed' } });
  assert.deepEqual([ok.code, ok.line.ok, 'error' in ok.line], [0, true, false]);
});
