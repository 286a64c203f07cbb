// The rollback and recover verbs on dir: hosts in bad states, through the real CLI: exit codes and
// messages per the contract, host untouched when refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDirHost } from '../../../main/adapters/swap/dir-host.ts';
import { swap } from '../../../main/adapters/swap/swap.ts';
import { mapOfTree, snapshot } from './helpers/tree.ts';
import { standardPair } from './helpers/tree-pair.ts';

let base: string, store: string, t1: string, t2: string;
let map1: ReturnType<typeof mapOfTree>, map2: ReturnType<typeof mapOfTree>;
const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/understudy.mjs', ...args, '--store', store, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const error = (out: string) => (JSON.parse(out.trim().split('\n').at(-1)!) as { error: { code: string; message: string } }).error;

before(() => { ({ base, store, t1, t2, map1, map2 } = standardPair('understudy-hostile-cli-')); });
after(() => rmSync(base, { recursive: true, force: true }));

test('rollback on a missing target dir -> exit 1 bad-target; --to a map no swap came from -> exit 2', async () => {
  const r = cli('rollback', `dir:${join(base, 'nope')}`, '--yes');
  assert.equal(r.status, 1);
  assert.equal(error(r.stdout).code, 'bad-target');
  const dir = join(base, 'h-to');
  execFileSync('cp', ['-a', t1, dir]);
  await swap({ host: await openDirHost(`dir:${dir}`), store, map1, map2 });
  const s = snapshot(dir);
  const n = cli('rollback', `dir:${dir}`, '--yes', '--to', 'deadbeefdeadbeef');
  assert.equal(n.status, 2, n.stdout);
  assert.match(error(n.stdout).message, /deadbeef/);
  assert.deepEqual(snapshot(dir), s);
});

test('rollback while a swap is unrecovered -> exit 7 naming recover; while another orchestrator runs -> exit 1', async () => {
  const dir = join(base, 'h-bad');
  execFileSync('cp', ['-a', t1, dir]);
  const host = await openDirHost(`dir:${dir}`);
  await swap({ host, store, map1, map2, agentEnv: { UNDERSTUDY_AGENT_KILL_AT: '30' } }).catch(() => {});
  const half = snapshot(dir);
  assert.notDeepEqual(half, snapshot(t1), 'killed inside the swap window: half renamed');
  const r = cli('rollback', `dir:${dir}`, '--yes');
  assert.equal(r.status, 7, r.stdout);
  assert.match(error(r.stdout).message, /understudy recover/);
  assert.deepEqual(snapshot(dir), half);
  assert.equal(cli('recover', `dir:${dir}`).status, 0);
  assert.deepEqual(snapshot(dir), snapshot(t1));
  await swap({ host, store, map1, map2 });
  const holder = spawn('sleep', ['60']);
  try {
    writeFileSync(join(host.work, 'orchestrator.lock'), `${holder.pid}\n`);
    const b = cli('rollback', `dir:${dir}`, '--yes');
    assert.equal(b.status, 1, b.stdout);
    assert.match(error(b.stdout).message, /another understudy/);
    assert.deepEqual(snapshot(dir), snapshot(t2));
  } finally { holder.kill('SIGKILL'); }
});
