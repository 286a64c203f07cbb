// Owners of what understudy leaves on this machine, and the start-up sweep of what killed processes left:
// only provably dead owners' dirs go; a live process's, an unmarked one and other programs' stay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownerAlive, ownerFileStale, ownerToken, writeOwnerFile } from '../../../main/adapters/local/process-owner.ts';
import { removeStaleFiles } from '../../../main/app/stage-services/stale-files.ts';
import { tokenOf } from '../helpers/record-owner.ts';

test('ownerAlive: pid and start time on this boot; an earlier boot is gone; another host is not ours to judge', () => {
  const me = ownerToken();
  const [host, boot, ticks] = me.split(' ');
  assert.equal(ownerAlive(process.pid, me), true);
  assert.equal(ownerAlive(process.pid, `${host} ${boot} ${Number(ticks) + 1}`), false, 'the pid now belongs to another process');
  assert.equal(ownerAlive(process.pid, `${host} 00000000-0000-0000-0000-000000000000 ${ticks}`), false, 'the machine restarted since');
  assert.equal(ownerAlive(process.pid, `not-${hostname()} ${boot} 1`), true);
  const dead = spawnSync('true').pid!;
  assert.equal(ownerAlive(dead, tokenOf(dead)), false);
  assert.equal(ownerAlive(process.pid), true, 'a record without a token: the pid decides');
  assert.equal(ownerAlive(dead), false);
});

test('removeStaleFiles: sandbox, QEMU and probe temp dirs and half-built images of dead owners only', () => {
  const root = mkdtempSync(join(tmpdir(), 'understudy-stale-test-'));
  const tmp = join(root, 'tmp'), images = join(root, 'images');
  mkdirSync(tmp); mkdirSync(images);
  const saved = { TMPDIR: process.env.TMPDIR, UNDERSTUDY_IMAGES: process.env.UNDERSTUDY_IMAGES };
  process.env.TMPDIR = tmp;
  process.env.UNDERSTUDY_IMAGES = images;
  try {
    const dead = spawnSync('true').pid!;
    const dir = (parent: string, name: string, owner?: number) => {
      const p = join(parent, name);
      mkdirSync(p);
      writeFileSync(join(p, 'root.qcow2'), 'x');
      if (owner === process.pid) writeOwnerFile(p);
      else if (owner !== undefined) writeFileSync(join(p, '.understudy-owner'), `${owner} ${tokenOf(owner)}\n`);
      return p;
    };
    const gone = [dir(tmp, 'understudy-sandbox-a', dead), dir(tmp, 'understudy-qemu-sandbox-1-b', dead), dir(images, '.sandbox-0123-c', dead),
      dir(tmp, 'understudy-accel-probe-e', dead)];
    const kept = [dir(tmp, 'understudy-sandbox-live', process.pid), dir(tmp, 'understudy-sandbox-unmarked'), dir(tmp, 'understudy-accel-probe-live', process.pid), dir(tmp, 'other-program-d', dead),
      dir(images, 'sandbox-0123456789ab', dead)];
    assert.equal(ownerFileStale(gone[0]!), true);
    assert.equal(ownerFileStale(kept[0]!), false);
    assert.deepEqual(removeStaleFiles().sort(), [...gone].sort());
    for (const p of gone) assert.equal(existsSync(p), false, p);
    for (const p of kept) assert.equal(existsSync(p), true, p);
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    rmSync(root, { recursive: true, force: true });
  }
});
