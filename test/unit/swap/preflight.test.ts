// Preflight: a swap that cannot stage on the target's filesystem is refused before anything is written
// there, with the numbers (a real small tmpfs holds the host tree).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDirHost } from '../../../main/adapters/swap/dir-host.ts';
import { swap } from '../../../main/adapters/swap/swap.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';
import { buildTree1, mapOfTree, snapshot } from './helpers/tree.ts';

test('no room to stage on the host filesystem -> no-space with needed/free bytes, host untouched', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'understudy-preflight-'));
  const mnt = join(base, 'mnt');
  mkdirSync(mnt);
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', mnt]).status !== 0) {
    rmSync(base, { recursive: true, force: true });
    t.skip('needs root to mount a small tmpfs');
    return;
  }
  try {
    const store = join(base, 'store'), t1 = join(base, 't1'), t2 = join(base, 't2'), host = join(mnt, 'host');
    buildTree1(t1);
    execFileSync('cp', ['-a', t1, t2]);
    writeFileSync(join(t2, 'usr/bin/big'), randomBytes(8 << 20));
    const map1 = mapOfTree(t1, store), map2 = mapOfTree(t2, store);
    execFileSync('cp', ['-a', t1, host]);
    const before = snapshot(host);
    await assert.rejects(swap({ host: await openDirHost(`dir:${host}`), store, map1, map2 }), (e: unknown) => {
      assert.ok(isUnderstudyError(e) && e.code === 'no-space', String(e));
      const fs = (e.details?.filesystems ?? []) as Array<{ filesystem: string; needBytes: number; freeBytes: number }>;
      assert.equal(fs.length, 1);
      assert.ok(fs[0]!.needBytes > fs[0]!.freeBytes && fs[0]!.needBytes >= 8 << 20);
      assert.match(e.message, /needs \d+ bytes, has \d+/);
      return true;
    });
    assert.deepEqual(snapshot(host), before);
    assert.equal(existsSync(join(mnt, '.understudy-host', 'tx')), false, 'nothing staged');
  } finally {
    spawnSync('umount', [mnt]);
    rmSync(base, { recursive: true, force: true });
  }
});
