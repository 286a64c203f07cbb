// The download cache is part of the store like any object: verify re-hashes it (naming the URL), maps
// shows its size, --clear-downloads empties it without touching objects a map uses.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloadCache } from '../../../main/adapters/proxy/download-cache.ts';
import { capture } from '../../../main/adapters/capture/capture.ts';
import { verifyStore } from '../../../main/adapters/store/verify-store.ts';
import { downloadsSummary, listDownloads } from '../../../main/adapters/store/download-index.ts';
import { clearDownloads } from '../../../main/adapters/store/clear-downloads.ts';
import { objectPath } from '../../../main/adapters/store/store-paths.ts';
import { existsSync } from 'node:fs';

describe('download cache in the store', () => {
  let dir: string, store: string;
  const keep = async (url: string, body: string) => {
    const p = new DownloadCache(store).put(url);
    await p.write(Buffer.from(body));
    return (await p.finish(body.length))!;
  };
  before(() => { dir = mkdtempSync(join(tmpdir(), 'understudy-dl-store-')); store = join(dir, 'store'); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is counted, verified by URL and cleared, keeping what a map uses', async () => {
    const tree = join(dir, 'tree');
    mkdirSync(tree);
    writeFileSync(join(tree, 'shared.deb'), 'shared-bytes');
    await capture({ store, target: `dir:${tree}` });
    const shared = await keep('http://a.example/debian/pool/main/s/shared.deb', 'shared-bytes');
    const own = await keep('http://a.example/debian/pool/main/o/own.deb', 'own-bytes');
    assert.deepEqual(await downloadsSummary(store), { files: 2, bytes: 'shared-bytes'.length + 'own-bytes'.length });
    assert.equal((await new DownloadCache(store).get('http://a.example/debian/pool/main/o/own.deb'))?.entry.sha256, own.sha256);

    assert.equal((await verifyStore(store, undefined)).ok, true);
    const p = objectPath(store, own.sha256);
    chmodSync(p, 0o644);
    writeFileSync(p, 'OWN-BYTES'); // same size, other bytes
    const v = await verifyStore(store, undefined);
    assert.deepEqual(v.corrupt.map((c) => [c.object, c.reason, c.paths]), [[own.sha256, 'mismatch', ['download http://a.example/debian/pool/main/o/own.deb']]]);

    const r = await clearDownloads(store);
    assert.deepEqual(r, { files: 1, bytes: 'own-bytes'.length, keptForMaps: 1 });
    assert.equal(existsSync(objectPath(store, own.sha256)), false);
    assert.equal(existsSync(objectPath(store, shared.sha256)), true, 'a map still uses it');
    assert.deepEqual(await listDownloads(store), []);
    assert.equal((await verifyStore(store, undefined)).ok, true);
  });
});
