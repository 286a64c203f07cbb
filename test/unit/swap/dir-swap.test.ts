import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { openDirHost } from '../../../main/adapters/swap/dir-host.ts';
import { swap } from '../../../main/adapters/swap/swap.ts';
import { rollbackLatest } from '../../../main/adapters/swap/rollback.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';
import { buildTree1, mapOfTree, sh, snapshot, upgradeTree } from './helpers/tree.ts';

let base: string, store: string, t1: string, t2: string;
let map1: ReturnType<typeof mapOfTree>, map2: ReturnType<typeof mapOfTree>;

before(() => {
  base = mkdtempSync(join(tmpdir(), 'understudy-swap-'));
  store = join(base, 'store');
  t1 = join(base, 't1'); t2 = join(base, 't2');
  buildTree1(t1);
  execFileSync('cp', ['-a', t1, t2]);
  upgradeTree(t2);
  map1 = mapOfTree(t1, store);
  map2 = mapOfTree(t2, store);
});
after(() => rmSync(base, { recursive: true, force: true }));

function freshHost(name: string): string {
  const dir = join(base, name);
  execFileSync('cp', ['-a', t1, dir]);
  assert.deepEqual(snapshot(dir), snapshot(t1), 'the copy is exact to begin with');
  return dir;
}

test('dir: swap lands exactly map2 (content and metadata of every entry), rollback exactly map1, and again', async () => {
  const dir = freshHost('h1');
  const host = await openDirHost(`dir:${dir}`);
  const r = await swap({ host, store, map1, map2 });
  assert.equal(r.outcome, 'committed');
  assert.ok(r.files > 10);
  assert.deepEqual(snapshot(dir), snapshot(t2));
  const rb = await rollbackLatest({ host, store });
  assert.equal(rb.restoredMap, map1.id);
  assert.deepEqual(snapshot(dir), snapshot(t1));
  // a rollback is a transaction too: rolling it back lands map2 again
  const rb2 = await rollbackLatest({ host, store });
  assert.equal(rb2.restoredMap, map2.id);
  assert.deepEqual(snapshot(dir), snapshot(t2));
  // --to MAP walks back to map1
  await rollbackLatest({ host, store, to: map1.id });
  assert.deepEqual(snapshot(dir), snapshot(t1));
});

test('conflict: both sides changed a path -> refused with details, host byte-identical', async () => {
  const dir = freshHost('h2');
  sh(`printf 'host edit\\n' > usr/bin/tool; printf 'Package: hello\\nVersion: 1.0-local\\n' > var/lib/dpkg/status`, dir);
  const beforeSwap = snapshot(dir);
  const host = await openDirHost(`dir:${dir}`);
  await assert.rejects(swap({ host, store, map1, map2 }), (e: unknown) => {
    assert.ok(isUnderstudyError(e));
    assert.equal(e.code, 'conflict');
    const conflicts = (e.details?.conflicts ?? []) as Array<{ path: string; host: string; sandbox: string }>;
    assert.deepEqual(conflicts.map((c) => c.path).sort(), ['usr/bin/tool', 'var/lib/dpkg/status']);
    assert.match(conflicts[0]!.host, /content changed/);
    return true;
  });
  assert.deepEqual(snapshot(dir), beforeSwap);
});

test('host-only changes survive swap and rollback; /etc text merges; --prefer decides per path', async () => {
  const dir = freshHost('h3');
  sh(`printf 'a=LOCAL\\nb=2\\nc=3\\nd=4\\ne=5\\nf=6\\n' > etc/app/app.conf; touch -d @1650000000 etc/app/app.conf
      printf 'host only\\n' > etc/host-only; printf 'host tool\\n' > usr/bin/tool`, dir);
  const host = await openDirHost(`dir:${dir}`);
  const r = await swap({ host, store, map1, map2, prefer: new Map([['usr/bin/tool', 'host' as const]]) });
  assert.deepEqual(r.merged, ['etc/app/app.conf']);
  assert.deepEqual(r.keptHost, ['usr/bin/tool']);
  const after = snapshot(dir);
  assert.equal(execFileSync('cat', [join(dir, 'etc/app/app.conf')], { encoding: 'utf8' }), 'a=LOCAL\nb=2\nc=3\nd=4\ne=5\nf=SIX\n');
  assert.equal(execFileSync('cat', [join(dir, 'usr/bin/tool')], { encoding: 'utf8' }), 'host tool\n');
  assert.ok(after.has('etc/host-only'));
  assert.equal(after.get('var/lib/dpkg/status'), snapshot(t2).get('var/lib/dpkg/status'));
  await rollbackLatest({ host, store });
  assert.equal(execFileSync('cat', [join(dir, 'etc/app/app.conf')], { encoding: 'utf8' }), 'a=LOCAL\nb=2\nc=3\nd=4\ne=5\nf=6\n');
  assert.equal(execFileSync('cat', [join(dir, 'etc/host-only')], { encoding: 'utf8' }), 'host only\n');
  assert.equal(execFileSync('cat', [join(dir, 'usr/bin/tool')], { encoding: 'utf8' }), 'host tool\n');
});

test('health failure after the swap rolls back automatically (health-failed), host exactly map1', async () => {
  const dir = freshHost('h4');
  const host = await openDirHost(`dir:${dir}`);
  writeFileSync(join(base, 'probe.sh'), 'test "$(cat "$UNDERSTUDY_ROOT/var/lib/dpkg/status" | tail -n 1)" = "Version: 3.0"\n');
  await assert.rejects(swap({ host, store, map1, map2, health: [`sh ${join(base, 'probe.sh')}`, 'test -f usr/bin/tool'] }),
    (e: unknown) => isUnderstudyError(e) && e.code === 'health-failed');
  assert.deepEqual(snapshot(dir), snapshot(t1));
  const ok = await swap({ host, store, map1, map2, health: ['test -f usr/bin/tool', 'grep -q "Version: 2.0" "$UNDERSTUDY_ROOT/var/lib/dpkg/status"'] });
  assert.deepEqual(ok.health.map((h) => h.ok), [true, true]);
  assert.deepEqual(snapshot(dir), snapshot(t2));
});

test('the agent runs the same under busybox sh (hosts without dash or bash), on its sh path', async () => {
  const dir = freshHost('h5');
  const host = await openDirHost(`dir:${dir}`);
  process.env.UNDERSTUDY_AGENT_SHELL = 'busybox sh';
  process.env.UNDERSTUDY_AGENT_PATH = 'sh';
  try {
    await swap({ host, store, map1, map2 });
    assert.deepEqual(snapshot(dir), snapshot(t2));
    await rollbackLatest({ host, store });
    assert.deepEqual(snapshot(dir), snapshot(t1));
  } finally { delete process.env.UNDERSTUDY_AGENT_SHELL; delete process.env.UNDERSTUDY_AGENT_PATH; }
});

test('rollback reads the host in one agent call; nothing swapped yet -> usage error, nothing written next to the target', async () => {
  const dir = freshHost('h6');
  const host = await openDirHost(`dir:${dir}`);
  await assert.rejects(rollbackLatest({ host, store }), (e: unknown) => isUnderstudyError(e) && e.code === 'usage');
  assert.equal(existsSync(host.work), false, 'a read leaves no work area behind');
  await swap({ host, store, map1, map2 });
  // an agent from an older understudy (no 'records' mode) is replaced, and the rollback still lands map1
  writeFileSync(join(host.work, 'agent.sh'), 'echo "understudy-agent: unknown mode $1" >&2; exit 2\n');
  const calls: string[][] = [];
  const counted = { ...host, agent: (args: string[], env?: Record<string, string>) => { calls.push(args); return host.agent(args, env); } };
  await rollbackLatest({ host: counted, store });
  assert.deepEqual(snapshot(dir), snapshot(t1));
  assert.deepEqual(calls.map((a) => a[0]), ['records', 'records', 'apply']);
});
