// Drift and bad input on dir: hosts: what the host changed since map1 is refused (or follows --prefer),
// and a refused swap leaves the host, its work area and the store exactly as they were.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { openDirHost } from '../../../main/adapters/swap/dir-host.ts';
import { swap } from '../../../main/adapters/swap/swap.ts';
import { rollbackLatest } from '../../../main/adapters/swap/rollback.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';
import { mapOfTree, sh, snapshot } from './helpers/tree.ts';
import { treePair } from './helpers/tree-pair.ts';

let base: string, store: string, t1: string, t2: string, outside: string;
let map1: ReturnType<typeof mapOfTree>, map2: ReturnType<typeof mapOfTree>;

before(() => {
  base = mkdtempSync(join(tmpdir(), 'understudy-drift-'));
  store = join(base, 'store'); t1 = join(base, 't1'); t2 = join(base, 't2'); outside = join(base, 'outside');
  mkdirSync(t1); mkdirSync(outside);
  sh(`mkdir -p etc/app usr/lib/pkg var/gone/sub; printf 'a=1\\n' > etc/app/conf; printf v1 > usr/lib/pkg/lib.so
      printf g > var/gone/sub/f; printf x > usr/lib/pkg/old
      find . -exec touch -h -d @1600000000.123456789 {} +`, t1);
  execFileSync('cp', ['-a', t1, t2]);
  sh(`printf 'a=2\\n' > etc/app/conf; printf v2 > usr/lib/pkg/lib.so; printf n > usr/lib/pkg/new; rm -r var/gone
      rm usr/lib/pkg/old; mkdir etc/app/conf.d; printf d > etc/app/conf.d/x`, t2);
  map1 = mapOfTree(t1, store); map2 = mapOfTree(t2, store);
});
after(() => rmSync(base, { recursive: true, force: true }));

function hostWith(name: string, drift: string): string {
  const dir = join(base, name);
  execFileSync('cp', ['-a', t1, dir]);
  sh(drift, dir);
  return dir;
}

const swapsInStore = () => (existsSync(join(store, 'swaps')) ? readdirSync(join(store, 'swaps')).length : 0);

async function refused(dir: string, code: string, message: RegExp): Promise<void> {
  const before = snapshot(dir), outsideBefore = snapshot(outside), swaps = swapsInStore();
  const host = await openDirHost(`dir:${dir}`);
  await assert.rejects(swap({ host, store, map1, map2 }), (e: unknown) => {
    assert.ok(isUnderstudyError(e), String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });
  assert.deepEqual(snapshot(dir), before, 'host untouched');
  assert.deepEqual(snapshot(outside), outsideBefore, 'nothing written outside the tree');
  assert.equal(swapsInStore(), swaps, 'no transaction recorded in the store');
  assert.equal(existsSync(host.work), false, 'no work area made next to the target');
}

test('host changed a changed file, added a file in a removed dir -> conflict, all listed', () =>
  refused(hostWith('c1', `printf local > usr/lib/pkg/lib.so; printf mine > var/gone/mine`), 'conflict',
    /usr\/lib\/pkg\/lib\.so[\s\S]*var\/gone.*holds files map1 did not: mine/));

test('a parent directory replaced by a symlink out of the tree -> refused, nothing written through it', () =>
  refused(hostWith('c2', `cp -a usr/lib/pkg/. ${outside}/; rm -r usr/lib/pkg; ln -s ${outside} usr/lib/pkg`), 'conflict', /usr\/lib\/pkg/));

test('a grandparent directory replaced by a symlink -> refused', () =>
  refused(hostWith('c3', `mkdir ${outside}/lib; cp -a usr/lib/. ${outside}/lib/; rm -r usr/lib; ln -s ${outside}/lib usr/lib`), 'conflict', /usr\/lib/));

test('a parent directory the host removed -> refused as drift, not a failed transaction', () =>
  refused(hostWith('c4', `rm -r etc/app`), 'conflict', /etc\/app/));

test('--prefer host keeps the host path through swap and rollback; --prefer sandbox takes map2', async () => {
  const dir = hostWith('p1', `printf local > usr/lib/pkg/lib.so`);
  const host = await openDirHost(`dir:${dir}`);
  const r = await swap({ host, store, map1, map2, prefer: new Map([['usr/lib/pkg/lib.so', 'host' as const]]) });
  assert.deepEqual(r.keptHost, ['usr/lib/pkg/lib.so']);
  const want = snapshot(t2); want.set('usr/lib/pkg/lib.so', snapshot(dir).get('usr/lib/pkg/lib.so')!);
  want.set('usr/lib/pkg', snapshot(dir).get('usr/lib/pkg')!);
  assert.deepEqual(snapshot(dir), want);
  await rollbackLatest({ host, store });
  const back = snapshot(t1); back.set('usr/lib/pkg/lib.so', want.get('usr/lib/pkg/lib.so')!);
  assert.deepEqual(snapshot(dir), back);
  const dir2 = hostWith('p2', `printf local > usr/lib/pkg/lib.so`);
  await swap({ host: await openDirHost(`dir:${dir2}`), store, map1, map2, prefer: new Map([['usr/lib/pkg/lib.so', 'sandbox' as const]]) });
  assert.equal(snapshot(dir2).get('usr/lib/pkg/lib.so'), snapshot(t2).get('usr/lib/pkg/lib.so'));
});

test('--prefer host on a directory turned symlink keeps everything below it; the swap writes nothing through it', async () => {
  const dir = hostWith('p3', `mkdir ${outside}/lib3; cp -a usr/lib/. ${outside}/lib3/; rm -r usr/lib; ln -s ${outside}/lib3 usr/lib`);
  const outsideBefore = snapshot(outside);
  const r = await swap({ host: await openDirHost(`dir:${dir}`), store, map1, map2, prefer: new Map([['usr/lib', 'host' as const]]) });
  // (pkg/old, which map2 removes, is not in the tree: below a symlink a name is the link target's)
  assert.deepEqual(r.keptHost.sort(), ['usr/lib/pkg', 'usr/lib/pkg/lib.so', 'usr/lib/pkg/new']);
  assert.deepEqual(snapshot(outside), outsideBefore);
  assert.equal(snapshot(dir).get('etc/app/conf'), snapshot(t2).get('etc/app/conf'));
});

test('rollback: a directory the host turned into a symlink after the swap is not written through', async () => {
  const dir = hostWith('r1', ':');
  const host = await openDirHost(`dir:${dir}`);
  await swap({ host, store, map1, map2 });
  sh(`mkdir ${outside}/r1; cp -a usr/lib/pkg/. ${outside}/r1/; rm -r usr/lib/pkg; ln -s ${outside}/r1 usr/lib/pkg`, dir);
  const outsideBefore = snapshot(outside);
  const rb = await rollbackLatest({ host, store });
  assert.deepEqual(snapshot(outside), outsideBefore, 'nothing written outside the tree');
  assert.ok(rb.kept.includes('usr/lib/pkg/lib.so') && rb.kept.includes('usr/lib/pkg/new'), rb.kept.join(','));
  assert.equal(snapshot(dir).get('etc/app/conf'), snapshot(t1).get('etc/app/conf'), 'the rest is rolled back');
});

test('a directory that becomes a file or symlink, where the host added a file inside -> conflict, host untouched', async () => {
  const p = treePair(base, 'd2f', `mkdir -p d2f d2s; printf x > d2f/x; printf y > d2s/y`,
    `rm -r d2f d2s; printf f > d2f; ln -s elsewhere d2s`);
  sh(`printf mine > d2f/host-only; printf mine > d2s/host-only`, p.h);
  const before = snapshot(p.h);
  await assert.rejects(swap({ host: await openDirHost(`dir:${p.h}`), store: p.store, map1: p.map1, map2: p.map2 }), (e: unknown) => {
    assert.ok(isUnderstudyError(e) && e.code === 'conflict', String(e));
    assert.deepEqual((e.details!.conflicts as Array<{ path: string; host: string }>).map((c) => `${c.path}: ${c.host}`),
      ['d2f: holds files map1 did not: host-only', 'd2s: holds files map1 did not: host-only']);
    return true;
  });
  assert.deepEqual(snapshot(p.h), before);
});

for (const path of ['perl', 'sh'] as const) {
  test(`rollback (${path} agent): what the host wrote in a directory the swap made goes out with it; rolled back again, it returns`, async () => {
    const agentEnv = { UNDERSTUDY_AGENT_PATH: path };
    const p = treePair(base, `rb-dir-${path}`, `printf f > f2d; mkdir -p var/log`,
      `mkdir -p newpkg/sub var/log/newpkg; printf n > newpkg/sub/n; printf m > newpkg/m; rm f2d; mkdir f2d; printf c > f2d/c`);
    const host = await openDirHost(`dir:${p.h}`);
    await swap({ host, store: p.store, map1: p.map1, map2: p.map2, agentEnv });
    sh(`printf mine > newpkg/sub/host-only; printf changed > newpkg/m; printf mine > f2d/host-only; printf log > var/log/newpkg/x.log`, p.h);
    const written = snapshot(p.h);
    const rb = await rollbackLatest({ host, store: p.store, agentEnv });
    const want = snapshot(p.t1);
    // a log directory a package shipped is the host's runtime state: it stays, with what the host wrote
    for (const k of ['var/log/newpkg', 'var/log/newpkg/x.log']) want.set(k, written.get(k)!);
    want.set('var/log', snapshot(p.h).get('var/log')!);
    assert.deepEqual(snapshot(p.h), want, 'the tree is map1 again, but for runtime state');
    assert.deepEqual(rb.kept, ['var/log/newpkg']);
    assert.deepEqual(rb.takenOut, ['f2d/host-only', 'newpkg/m', 'newpkg/sub/host-only']);
    assert.equal(rb.takenOutCount, 3);
    const kept = rb.undoAreas.flatMap((u) => readdirSync(u).map((n) => join(u, n)).filter((f) => statSync(f).isFile())
      .map((f) => readFileSync(f, 'utf8'))).sort();
    assert.deepEqual(kept.filter((c) => c === 'mine' || c === 'changed'), ['changed', 'mine', 'mine'], 'nothing the host wrote is deleted');
    await rollbackLatest({ host, store: p.store, agentEnv });
    assert.deepEqual(snapshot(p.h), written, 'rolling back the rollback puts it all back');
  });
}

test('--prefer host on a file inside a directory map2 removes: the file stays, and so does its directory', async () => {
  const dir = hostWith('p4', `printf mine > var/gone/sub/f`);
  const r = await swap({ host: await openDirHost(`dir:${dir}`), store, map1, map2, prefer: new Map([['var/gone/sub/f', 'host' as const]]) });
  assert.deepEqual(r.keptHost.sort(), ['var/gone', 'var/gone/sub', 'var/gone/sub/f']);
  const after = snapshot(dir);
  assert.ok(after.has('var/gone/sub/f'), 'the preferred host file is still in the tree');
  assert.equal(execFileSync('cat', [join(dir, 'var/gone/sub/f')], { encoding: 'utf8' }), 'mine');
});
