// A sparse file in the delta: the store keeps only its data extents, the host must get the whole file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capture } from '../../../main/adapters/capture/capture.ts';
import { loadMap } from '../../../main/adapters/store/map-store.ts';
import { openDirHost } from '../../../main/adapters/swap/dir-host.ts';
import { swap } from '../../../main/adapters/swap/swap.ts';

const sha = (f: string) => execFileSync('sha256sum', [f], { encoding: 'utf8' }).split(' ')[0];

test('a sparse file the upgrade added lands with its holes as zeros, byte-identical to the sandbox copy', async () => {
  const base = mkdtempSync(join(tmpdir(), 'understudy-sparse-swap-'));
  try {
    const [t1, t2, h, store] = ['t1', 't2', 'h', 'store'].map((n) => join(base, n)) as [string, string, string, string];
    execFileSync('mkdir', ['-p', join(t1, 'var/lib/app')]);
    writeFileSync(join(t1, 'var/lib/app/readme'), 'v1\n');
    execFileSync('cp', ['-a', t1, t2]);
    execFileSync('cp', ['-a', t1, h]);
    const img = join(t2, 'var/lib/app/data.img');
    execFileSync('truncate', ['-s', '64M', img]);
    execFileSync('dd', ['if=/dev/urandom', `of=${img}`, 'bs=4096', 'count=3', 'seek=8192', 'conv=notrunc', 'status=none']);
    const m1 = await loadMap(store, (await capture({ store, target: `dir:${t1}` })).map);
    const m2 = await loadMap(store, (await capture({ store, target: `dir:${t2}` })).map);
    const entry = m2.manifest.entries.find((e) => e.path === 'var/lib/app/data.img');
    assert.ok(entry?.sparse, 'the capture kept the file sparse');
    const host = await openDirHost(`dir:${h}`);
    const r = await swap({ host, store, map1: m1, map2: m2 });
    assert.equal(r.outcome, 'committed');
    assert.equal(sha(join(h, 'var/lib/app/data.img')), sha(img));
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
