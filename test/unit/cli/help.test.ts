import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

test('with --json a usage error still ends stdout with the result line (exit 2)', () => {
  for (const args of [['rehearse', 'dir:/tmp', '--json'], ['capture', '--json', '--no-such-option'], ['frobnicate', '--json']]) {
    const r = cli(...args);
    assert.equal(r.status, 2, args.join(' '));
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { type: string; ok: boolean; error: { code: string; message: string } };
    assert.deepEqual([last.type, last.ok, last.error.code], ['result', false, 'usage'], args.join(' '));
    assert.ok(r.stderr.includes(last.error.message), 'the same words as on stderr');
  }
});

test('--store and --json are taken before the verb as well as after it', () => {
  const store = mkdtempSync(join(tmpdir(), 'understudy-cli-global-'));
  try {
    for (const args of [['--store', store, '--json', 'maps'], ['maps', '--store', store, '--json'], ['--json', 'maps', '--store', store]]) {
      const r = cli(...args);
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').at(-1)!), { type: 'result', ok: true, maps: [], downloads: { files: 0, bytes: 0 } });
    }
    const proc = cli('--store', '/proc/understudy', '--json', 'maps');
    assert.equal(proc.status, 2, 'the store given before the verb is the one used');
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
});
