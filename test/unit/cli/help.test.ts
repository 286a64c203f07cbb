import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/understudy.mjs', ...args], { encoding: 'utf8', env: { ...process.env, UNDERSTUDY_STORE: '/nonexistent-store-for-help' } });

const contractVerbs = ['capture', 'maps', 'verify', 'diff', 'restore', 'rehearse', 'upgrade', 'rollback', 'recover',
  'runs', 'show', 'resume', 'batch', 'assess', 'serve', 'ui', 'demo'];

test('--help lists every verb of the CLI contract', () => {
  const r = cli('--help');
  assert.equal(r.status, 0);
  for (const v of contractVerbs) assert.match(r.stdout, new RegExp(`^  ${v} `, 'm'), `verb ${v} missing from --help`);
});

test('an unknown verb is a usage error (exit 2)', () => {
  const r = cli('frobnicate');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
});
