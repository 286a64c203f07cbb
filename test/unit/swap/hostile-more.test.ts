// More hostile round trips on dir: hosts: odd symlink targets, xattr names and values, modes 0000,
// odd owners, an immutable file that makes the swap fail (undone, host exactly as before).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { openDirHost } from '../../../main/adapters/swap/dir-host.ts';
import { swap } from '../../../main/adapters/swap/swap.ts';
import { rollbackLatest } from '../../../main/adapters/swap/rollback.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';
import { snapshot } from './helpers/tree.ts';
import { treePair } from './helpers/tree-pair.ts';

let base: string;
before(() => { base = mkdtempSync(join(tmpdir(), 'understudy-hostile2-')); });
after(() => { try { execFileSync('chattr', ['-R', '-i', base], { stdio: 'ignore' }); } catch { /* none set */ } rmSync(base, { recursive: true, force: true }); });

const trees = (name: string, tree1: string, upgrade: string) => treePair(base, name, tree1, upgrade);

async function roundTrip(name: string, tree1: string, upgrade: string): Promise<void> {
  const { store, t1, t2, h, map1, map2 } = trees(name, tree1, upgrade);
  const host = await openDirHost(`dir:${h}`);
  await swap({ host, store, map1, map2 });
  assert.deepEqual(snapshot(h), snapshot(t2), 'after swap: map2');
  await rollbackLatest({ host, store });
  assert.deepEqual(snapshot(h), snapshot(t1), 'after rollback: map1');
}

const T = 'find . -exec touch -h -d @1600000000.123456789 {} +';

test('symlink targets with newline, invalid UTF-8, leading dash, 4000 bytes', () => roundTrip('links', `
  ln -s "$(printf 'a\\nb')" nl; ln -s "$(printf 'x\\377y')" inv; ln -s -- -rf dash; ln -s old long
  ${T}`, `
  rm nl inv dash long; ln -s "$(printf 'c\\nd\\n')" nl; ln -s "$(printf '\\376')" inv; ln -s -- '--help' dash
  ln -s "$(head -c 4000 /dev/zero | tr '\\0' x)" long`));

test('xattrs: odd names, binary values, removal; modes 0000; odd owners', () => roundTrip('xattrs', `
  printf x > f; setfattr -n 'user.sp ace' -v 1 f; setfattr -n 'user.co,mma' -v 2 f; setfattr -n user.gone -v 3 f
  printf z > zero; chmod 0000 zero; mkdir zdir; printf in > zdir/in; chmod 0000 zdir
  printf o > own
  ${T}`, `
  setfattr -n 'user.sp ace' -v 0x00ff0a3d f; setfattr -x user.gone f; setfattr -n 'user.new=val' -v '=0s' f
  setfattr -n 'user.\\303\\274' -v utf8 f; setfattr -n 'user.back\\134slash\\134101' -v bs f; setfattr -n 'user.\\377' -v inv f; setfattr -n 'user.a=0sb' -v eq f
  printf z2 > zero; chmod 0000 zero; chmod 700 zdir; printf in2 > zdir/in; printf new > zdir/new; chmod 0000 zdir
  chown 4294967294:65534 own
  touch -d @1600000000.123456789 zdir`));

test('an immutable file the swap must replace: the transaction is undone, the host exactly map1', async () => {
  const { store, t1, h, map1, map2 } = trees('immutable', `
    mkdir a b; printf 1 > a/one; printf 1 > b/locked; printf 1 > z
    ${T}`, `printf 2 > a/one; printf 2 > b/locked; printf 2 > z; printf n > a/new`);
  try { execFileSync('chattr', ['+i', join(h, 'b/locked')], { stdio: 'ignore' }); } catch { return; } // no chattr here
  const host = await openDirHost(`dir:${h}`);
  const before = snapshot(h);
  await assert.rejects(swap({ host, store, map1, map2 }), (e: unknown) => isUnderstudyError(e) && e.code === 'io' && /undone/.test(e.message));
  assert.deepEqual(snapshot(h), before);
  execFileSync('chattr', ['-i', join(h, 'b/locked')]);
  assert.deepEqual(snapshot(h), snapshot(t1));
  await assert.rejects(rollbackLatest({ host, store }), (e: unknown) => isUnderstudyError(e) && e.code === 'usage');
});

test('a target directory whose own name is hostile (spaces, newline, quotes, $(...), a leading dash)', async () => {
  const p = trees('target-name', `mkdir -p a/b; printf 1 > a/b/f; ln -s b a/l; printf 1 > gone`, `printf 2 > a/b/f; rm gone; mkdir n; printf 3 > n/x`);
  const weird = join(base, 'target-name', "-h o'st\"$(id)\n`x`\\ ");
  execFileSync('mv', [p.h, weird]);
  const host = await openDirHost(`dir:${weird}`);
  await swap({ host, store: p.store, map1: p.map1, map2: p.map2 });
  assert.deepEqual(snapshot(weird), snapshot(p.t2));
  await rollbackLatest({ host, store: p.store });
  assert.deepEqual(snapshot(weird), snapshot(p.t1));
});

test('the root directory itself changes mode, owner, xattrs and time', () => roundTrip('root-attrs', `printf 1 > f; ${T}`,
  `chmod 0750 .; chown 1000:1000 .; setfattr -n user.root -v r .; printf 2 > f; touch -d @1700000000.5 .`));

test('device nodes: added, changed numbers, removed, replaced by a file', async (t) => {
  try { execFileSync('mknod', [join(base, 'probe-dev'), 'c', '1', '3']); } catch { t.skip('mknod not allowed here'); return; }
  await roundTrip('devices', `mkdir dev; mknod dev/null c 1 3; mknod dev/loop b 7 0; mknod dev/gone c 1 5; mknod dev/tofile c 1 8; ${T}`,
    `rm dev/null; mknod dev/null c 1 7; mknod dev/new b 7 1; rm dev/gone; rm dev/tofile; printf f > dev/tofile; chmod 600 dev/loop`);
});
