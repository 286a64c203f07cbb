// Every reader of a map (restore, diff, the sandbox disk build, a rehearsal's delta, rollback) goes
// through loadMap: a map file whose bytes no longer hash to its id is refused, never used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Manifest } from '../../../main/core/domain/manifest.ts';
import { loadMap, saveMap } from '../../../main/adapters/store/map-store.ts';
import { mapPath } from '../../../main/adapters/store/store-paths.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';

const manifest: Manifest = {
  version: 1, target: 'dir:/x', host: '/x', capturedAt: '2026-11-26T00:00:00.000Z', excluded: [], unstable: [],
  filesystems: [{ path: '', fstype: 'ext4' }],
  entries: [
    { path: '', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtimeNs: '1', size: 0 },
    { path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs: '1', size: 2, sha256: 'a'.repeat(64) },
  ],
};

const corrupt = (e: unknown) => isUnderstudyError(e) && e.code === 'store-corrupt';

test('an intact map loads, by its id, a prefix, or an upper-case prefix', async () => {
  const store = mkdtempSync(join(tmpdir(), 'understudy-loadmap-'));
  try {
    const id = await saveMap(store, manifest);
    assert.deepEqual((await loadMap(store, id)).manifest, manifest);
    assert.equal((await loadMap(store, id.slice(0, 8))).id, id);
    assert.equal((await loadMap(store, id.slice(0, 8).toUpperCase())).id, id);
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
});

test('an altered map (still valid JSON), a truncated one and one that is a directory are store-corrupt', async () => {
  const store = mkdtempSync(join(tmpdir(), 'understudy-loadmap-'));
  try {
    const id = await saveMap(store, manifest);
    const file = mapPath(store, id);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('"mode":420', '"mode":2541')); // now setuid, under the same id
    await assert.rejects(loadMap(store, id), (e) => corrupt(e) && /does not match its id/.test((e as Error).message));
    writeFileSync(file, text.slice(0, 40));
    await assert.rejects(loadMap(store, id), corrupt);
    rmSync(file);
    mkdirSync(file);
    await assert.rejects(loadMap(store, id), (e) => corrupt(e) && /cannot be read/.test((e as Error).message));
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
});
