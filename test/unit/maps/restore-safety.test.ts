// A hostile map cannot make restore write outside DIR, and a capture running without privileges
// reports files it cannot read instead of crashing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry, Manifest } from '../../../main/core/domain/manifest.ts';
import { saveMap } from '../../../main/adapters/store/map-store.ts';
import { restoreMap } from '../../../main/adapters/restore/restore-map.ts';
import { NOBODY, spawnAsNobody } from '../../integration/helpers/run-as-nobody.ts';

let work: string;
before(() => { work = mkdtempSync(join(tmpdir(), 'understudy-restore-safety-')); chmodSync(work, 0o755); });
after(() => rmSync(work, { recursive: true, force: true }));

const d = (path: string): Entry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtimeNs: '1000000000', size: 0 });
const m = (entries: Entry[]): Manifest => ({ version: 1, target: 'dir:/evil', host: 'evil', capturedAt: '2026-01-01T00:00:00Z', entries, excluded: [], unstable: [], filesystems: [] });

test('maps with escaping paths are refused before anything is written', async () => {
  const store = join(work, 'store');
  const outside = join(work, 'outside');
  mkdirSync(outside);
  const evil: Entry[][] = [
    [d(''), { ...d('x'), type: 'symlink', target: outside }, { ...d('x/owned'), type: 'fifo' }],
    [d(''), { ...d('../outside/fifo'), type: 'fifo' }],
    [d(''), { ...d('/abs'), type: 'fifo' }],
  ];
  for (const [i, entries] of evil.entries()) {
    const id = await saveMap(store, m(entries));
    const dest = join(work, `dest-${i}`);
    await assert.rejects(restoreMap(store, id, dest), (e: any) => e.code === 'store-corrupt');
    assert.equal(existsSync(dest), false, 'nothing created');
  }
  assert.deepEqual(readdirSync(outside), []);
});

test('a symlink in the map never redirects a later write', async () => {
  const store = join(work, 'store2');
  const outside = join(work, 'outside2');
  mkdirSync(outside);
  // 'a' is a symlink to outside; the only other entries are siblings: restore must create the link
  // itself, and write nothing through it.
  const id = await saveMap(store, m([d(''), { ...d('a'), type: 'symlink', target: outside }, { ...d('b'), type: 'fifo' }]));
  const dest = join(work, 'dest-link');
  await restoreMap(store, id, dest);
  assert.deepEqual(readdirSync(dest).sort(), ['a', 'b']);
  assert.deepEqual(readdirSync(outside), []);
});

test('capture without privileges lists unreadable files and still completes', {
  skip: process.getuid?.() !== 0 && 'needs root to switch to an unprivileged user',
}, () => {
  const src = join(work, 'src'), store = join(work, 'store-nobody');
  mkdirSync(join(src, 'private'), { recursive: true });
  writeFileSync(join(src, 'readable'), 'ok\n');
  writeFileSync(join(src, 'secret'), 'no\n');
  chmodSync(join(src, 'secret'), 0o000);
  chmodSync(join(src, 'private'), 0o700);
  mkdirSync(store);
  chownSync(store, NOBODY, NOBODY);
  // run from wherever the repo is cloned (a checkout under a 0700 directory is bind-mounted for nobody)
  const r = spawnAsNobody([process.execPath, 'bin/understudy.mjs', 'capture', `dir:${src}`, '--store', store, '--json'], { HOME: '/tmp' });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(result.files, 1);
  const manifest = JSON.parse(spawnSync('cat', [join(store, 'maps', `${result.map}.json`)]).stdout.toString()) as Manifest;
  const reasons = Object.fromEntries(manifest.excluded.map((x) => [x.path, x.reason]));
  assert.equal(reasons.secret, 'unreadable');
  assert.equal(reasons.private, 'unreadable');
});
