// Repeats and races on a dir: host: a swap run twice, a rollback with nothing to roll back, recover
// with nothing to recover, and two swaps at once on one target.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { openDirHost } from '../../../main/adapters/swap/dir-host.ts';
import { swap } from '../../../main/adapters/swap/swap.ts';
import { rollbackLatest } from '../../../main/adapters/swap/rollback.ts';
import { recover } from '../../../main/adapters/swap/recover.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';
import { mapOfTree, sh, snapshot } from './helpers/tree.ts';
import { standardPair } from './helpers/tree-pair.ts';

let base: string, store: string, t1: string, t2: string;
let map1: ReturnType<typeof mapOfTree>, map2: ReturnType<typeof mapOfTree>;

before(() => { ({ base, store, t1, t2, map1, map2 } = standardPair('understudy-repeat-')); });
after(() => rmSync(base, { recursive: true, force: true }));

function freshHost(name: string): string {
  const dir = join(base, name);
  execFileSync('cp', ['-a', t1, dir]);
  return dir;
}

test('the same swap twice: the second changes nothing, and one rollback still lands map1', async () => {
  const dir = freshHost('twice');
  const host = await openDirHost(`dir:${dir}`);
  await swap({ host, store, map1, map2 });
  const again = await swap({ host, store, map1, map2 });
  assert.deepEqual(snapshot(dir), snapshot(t2));
  assert.equal(again.files, 0, 'nothing left to do');
  await rollbackLatest({ host, store });
  assert.deepEqual(snapshot(dir), snapshot(t1));
});

test('two swaps at once on one target: one lands, the other is refused (or finds nothing left to do)', async () => {
  const dir = freshHost('race');
  const [a, b] = await Promise.allSettled([
    openDirHost(`dir:${dir}`).then((host) => swap({ host, store, map1, map2 })),
    openDirHost(`dir:${dir}`).then((host) => swap({ host, store, map1, map2 })),
  ]);
  const landed = [a, b].filter((r) => r.status === 'fulfilled' && r.value.files > 0);
  assert.equal(landed.length, 1, JSON.stringify([a, b].map((r) => (r.status === 'rejected' ? String(r.reason) : r.value.files))));
  for (const r of [a, b]) if (r.status === 'rejected') assert.ok(isUnderstudyError(r.reason) && r.reason.code === 'io' && /another understudy/.test(r.reason.message), String(r.reason));
  assert.deepEqual(snapshot(dir), snapshot(t2));
  await rollbackLatest({ host: await openDirHost(`dir:${dir}`), store });
  assert.deepEqual(snapshot(dir), snapshot(t1));
});

test('while another orchestrator holds the target, swap and rollback refuse and change nothing; a dead holder is taken over', async () => {
  const dir = freshHost('held');
  const host = await openDirHost(`dir:${dir}`);
  const holder = spawn('sleep', ['60']);
  try {
    mkdirSync(host.work, { recursive: true });
    writeFileSync(join(host.work, 'orchestrator.lock'), `${holder.pid}\n`);
    const busy = (e: unknown) => isUnderstudyError(e) && e.code === 'io' && e.message.includes(`pid ${holder.pid}`);
    await assert.rejects(swap({ host, store, map1, map2 }), busy);
    await assert.rejects(rollbackLatest({ host, store }), busy);
    assert.deepEqual(snapshot(dir), snapshot(t1));
    assert.deepEqual(readdirSync(host.work), ['orchestrator.lock']);
  } finally { holder.kill('SIGKILL'); }
  await new Promise((res) => holder.once('exit', res));
  await swap({ host, store, map1, map2 }); // its holder is gone
  assert.deepEqual(snapshot(dir), snapshot(t2));
  assert.equal(existsSync(join(host.work, 'orchestrator.lock')), false);
});

test('recover with nothing to recover, and rollback with nothing to roll back: no work area, no store records', async () => {
  const dir = freshHost('idle');
  const host = await openDirHost(`dir:${dir}`);
  assert.deepEqual(await recover(host), []);
  await assert.rejects(rollbackLatest({ host, store: join(base, 'empty-store') }), (e: unknown) => isUnderstudyError(e) && e.code === 'usage');
  assert.equal(existsSync(host.work), false);
  assert.equal(existsSync(join(base, 'empty-store')), false);
  assert.deepEqual(snapshot(dir), snapshot(t1));
});

test('a map whose objects are missing from the store -> store-corrupt before anything is renamed, host untouched', async () => {
  const dir = freshHost('corrupt');
  const st2 = join(base, 'store2');
  execFileSync('cp', ['-a', store, st2]);
  const sha = map2.manifest.entries.find((e) => e.path === 'usr/bin/tool')!.sha256!;
  rmSync(join(st2, 'objects', sha.slice(0, 2), sha.slice(2)));
  rmSync(join(st2, 'swaps'), { recursive: true, force: true }); // other cases' transactions
  const host = await openDirHost(`dir:${dir}`);
  await assert.rejects(swap({ host, store: st2, map1, map2 }), (e: unknown) => isUnderstudyError(e) && e.code === 'store-corrupt' && e.message.includes('usr/bin/tool'));
  assert.deepEqual(snapshot(dir), snapshot(t1));
  assert.equal(existsSync(host.work), false, 'nothing staged, no work area');
  assert.equal(existsSync(join(st2, 'swaps')), false, 'no transaction recorded');
});

test('undo area gone: rollback takes the old content from the store and still lands map1', async () => {
  const dir = freshHost('no-undo');
  const host = await openDirHost(`dir:${dir}`);
  await swap({ host, store, map1, map2 });
  for (const tx of readdirSync(join(host.work, 'tx'))) rmSync(join(host.work, 'tx', tx, 'a0', 'undo'), { recursive: true, force: true });
  await rollbackLatest({ host, store });
  assert.deepEqual(snapshot(dir), snapshot(t1));
});

test('an interrupted transaction not yet recovered: swap and rollback refuse (needs-recovery), recover then works', async () => {
  const dir = freshHost('unrecovered');
  const host = await openDirHost(`dir:${dir}`);
  await assert.rejects(swap({ host, store, map1, map2, agentEnv: { UNDERSTUDY_AGENT_KILL_AT: '30' } }), (e: unknown) => isUnderstudyError(e) && e.code === 'needs-recovery');
  const half = snapshot(dir);
  for (const again of [() => swap({ host, store, map1, map2 }), () => rollbackLatest({ host, store })]) {
    await assert.rejects(again(), (e: unknown) => isUnderstudyError(e) && e.code === 'needs-recovery' && /recover/.test(e.message));
    assert.deepEqual(snapshot(dir), half, 'untouched');
  }
  assert.deepEqual((await recover(host)).map((r) => r.result), ['rolled-back']);
  assert.deepEqual(snapshot(dir), snapshot(t1));
  await swap({ host, store, map1, map2 });
  assert.deepEqual(snapshot(dir), snapshot(t2));
});

test('three maps: swap 1->2, swap 2->3, rollback --to map1 lands map1 exactly, then forward again one by one', async () => {
  const t3 = join(base, 't3');
  execFileSync('cp', ['-a', t2, t3]);
  sh(`printf v3 > usr/bin/tool; rm -r data/f2d; ln -s ../usr data/f2d; printf 'shared v3\\n' > usr/bin/b; mkdir -p opt/old; printf back > opt/old/top`, t3);
  const map3 = mapOfTree(t3, store);
  const dir = freshHost('chain');
  const host = await openDirHost(`dir:${dir}`);
  await swap({ host, store, map1, map2 });
  await swap({ host, store, map1: map2, map2: map3 });
  assert.deepEqual(snapshot(dir), snapshot(t3));
  await rollbackLatest({ host, store, to: map1.id.slice(0, 12) });
  assert.deepEqual(snapshot(dir), snapshot(t1));
  await rollbackLatest({ host, store });
  assert.deepEqual(snapshot(dir), snapshot(t2), 'rolling back the last rollback: map2');
});

test('the whole work area next to the target is gone: rollback works from the store records and objects, exactly map1', async () => {
  const dir = freshHost('wiped');
  const host = await openDirHost(`dir:${dir}`);
  await swap({ host, store, map1, map2 });
  rmSync(host.work, { recursive: true, force: true });
  const rb = await rollbackLatest({ host, store });
  assert.equal(rb.restoredMap, map1.id);
  assert.deepEqual(snapshot(dir), snapshot(t1));
});

test('the store lost its copies of the records: the rollback reads the one it reverts from the host, exactly map1', async () => {
  const dir = freshHost('store-records-gone');
  const st2 = join(base, 'store-without-records');
  execFileSync('cp', ['-a', store, st2]);
  const host = await openDirHost(`dir:${dir}`);
  await swap({ host, store: st2, map1, map2 });
  rmSync(join(st2, 'swaps'), { recursive: true, force: true });
  const rb = await rollbackLatest({ host, store: st2 });
  assert.equal(rb.restoredMap, map1.id);
  assert.deepEqual(snapshot(dir), snapshot(t1));
});
