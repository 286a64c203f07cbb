// A directory a newly installed package ships under the sandbox's runtime state (nginx-common's
// /var/log/nginx) reaches map2; the logs in it, and directories no package ships (a journal of the
// sandbox's own machine id), do not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Entry, Manifest } from '../../../main/core/domain/manifest.ts';
import { objectPath } from '../../../main/adapters/store/store-paths.ts';
import { effectiveMap2 } from '../../../main/app/stage-services/effective-map2.ts';
import { diffMaps } from '../../../main/core/domain/map-diff.ts';

const dir = (path: string): Entry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtimeNs: '1000000000000000000', size: 0 });
const manifest = (entries: Entry[]): Manifest =>
  ({ version: 1, target: 'dir:/x', host: 'x', capturedAt: '2026-01-01T00:00:00Z', entries, excluded: [], unstable: [], filesystems: [] });

test('package-shipped directories under var/log reach map2, their logs do not', async () => {
  const store = mkdtempSync(join(tmpdir(), 'understudy-owned-dirs-'));
  try {
    const text = '/.\n/var\n/var/log\n/var/log/nginx\n/usr/share/doc/nginx-common\n';
    const sha = createHash('sha256').update(text).digest('hex');
    mkdirSync(dirname(objectPath(store, sha)), { recursive: true });
    writeFileSync(objectPath(store, sha), text);
    const common = [dir(''), dir('var'), dir('var/lib'), dir('var/lib/dpkg'), dir('var/lib/dpkg/info'), dir('var/log')];
    const map1 = manifest(common);
    const map2 = manifest(([...common,
      { path: 'var/lib/dpkg/info/nginx-common.list', type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs: '1', size: text.length, sha256: sha },
      { ...dir('var/log/journal') }, { ...dir('var/log/journal/0123abcd') },
      { ...dir('var/log/nginx'), gid: 4 },
      { path: 'var/log/nginx/access.log', type: 'file', mode: 0o640, uid: 33, gid: 4, mtimeNs: '1', size: 0, sha256: 'e'.repeat(64) },
    ] as Entry[]).sort((a, b) => (a.path < b.path ? -1 : 1)));
    const eff = (await effectiveMap2(store, map1, map2)).manifest;
    assert.deepEqual(diffMaps(map1, eff, false).added, ['var/lib/dpkg/info/nginx-common.list', 'var/log/nginx']);
    assert.equal(eff.entries.find((e) => e.path === 'var/log/nginx')?.gid, 4, 'owner and mode as the package left them');
  } finally { rmSync(store, { recursive: true, force: true }); }
});
