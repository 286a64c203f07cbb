// The rollback and recover verbs on a dir: host, through the real CLI entry point.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDirHost } from '../../../main/adapters/swap/dir-host.ts';
import { swap } from '../../../main/adapters/swap/swap.ts';
import { buildTree1, mapOfTree, sh, snapshot } from './helpers/tree.ts';

let base: string, store: string, t1: string, t2: string, host: string;
let map1: ReturnType<typeof mapOfTree>, map2: ReturnType<typeof mapOfTree>;
const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/understudy.mjs', ...args, '--store', store, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const result = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;

before(() => {
  base = mkdtempSync(join(tmpdir(), 'understudy-swap-cli-'));
  store = join(base, 'store'); t1 = join(base, 't1'); t2 = join(base, 't2'); host = join(base, 'host');
  buildTree1(t1);
  execFileSync('cp', ['-a', t1, t2]);
  sh(`printf 'v2\\n' > usr/bin/tool; rm -r opt/old; mkdir -p opt/new; printf 'n\\n' > opt/new/f`, t2);
  map1 = mapOfTree(t1, store); map2 = mapOfTree(t2, store);
  execFileSync('cp', ['-a', t1, host]);
});
after(() => rmSync(base, { recursive: true, force: true }));

test('rollback TARGET --yes: result has run, restoredMap, files, seconds; the host is map1 again', async () => {
  await swap({ host: await openDirHost(`dir:${host}`), store, map1, map2 });
  assert.deepEqual(snapshot(host), snapshot(t2));
  const r = cli('rollback', `dir:${host}`, '--yes');
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const res = result(r.stdout);
  assert.equal(res.ok, true);
  assert.equal(res.restoredMap, map1.id);
  assert.equal(typeof res.run, 'string');
  assert.ok((res.files as number) > 0 && typeof res.seconds === 'number');
  assert.deepEqual(snapshot(host), snapshot(t1));
});

test('rollback without --yes off a terminal is a usage error; nothing to roll back is one too', () => {
  const r = cli('rollback', `dir:${host}`);
  assert.equal(r.status, 2, r.stdout);
  const fresh = join(base, 'never-swapped');
  execFileSync('cp', ['-a', t1, fresh]);
  const n = cli('rollback', `dir:${fresh}`, '--yes');
  assert.equal(n.status, 2);
  assert.match(String((result(n.stdout).error as { message: string }).message), /nothing to roll back/);
});

test('recover TARGET finishes an interrupted swap (agent killed mid-window) -> exactly map1; then nothing to do', async () => {
  const dir = join(base, 'h-recover');
  execFileSync('cp', ['-a', t1, dir]);
  await assert.rejects(swap({ host: await openDirHost(`dir:${dir}`), store, map1, map2, agentEnv: { UNDERSTUDY_AGENT_KILL_AT: '12' } }),
    (e: unknown) => (e as { code?: string }).code === 'needs-recovery');
  const r = cli('recover', `dir:${dir}`);
  assert.equal(r.status, 0, r.stderr);
  const rec = result(r.stdout).recovered as Array<{ result: string }>;
  assert.equal(rec.length, 1);
  assert.equal(rec[0]!.result, 'rolled-back');
  assert.deepEqual(snapshot(dir), snapshot(t1));
  assert.deepEqual(result(cli('recover', `dir:${dir}`).stdout).recovered, []);
});

test('recover on a target it cannot reach fails with a typed error and exit 1, nothing else', () => {
  const r = cli('recover', 'ssh://root@127.0.0.1:1');
  assert.equal(r.status, 1);
  const err = result(r.stdout).error as { code: string; message: string };
  assert.ok(['not-implemented', 'bad-target', 'timeout', 'io'].includes(err.code), JSON.stringify(err));
  assert.match(err.message, /ssh|127\.0\.0\.1|not built/);
});
