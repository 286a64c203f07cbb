// capture -> restore -> exact comparison on a hostile tree, through both capture paths (direct walk for
// dir:, and the GNU tar stream that ssh:// uses, here over a local shell), checked by an independent walk.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, openSync, readSync, closeSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHostileTree, snapshot, xattrDump, SPARSE_DATA, TB } from './hostile-tree.ts';
import { capture } from '../../../main/adapters/capture/capture.ts';
import { captureRemote } from '../../../main/adapters/capture/capture-remote.ts';
import { execOnlyShell } from './helpers/exec-only-shell.ts';
import { LocalShell } from '../../../main/adapters/local/local-shell.ts';
import { restoreMap } from '../../../main/adapters/restore/restore-map.ts';
import { loadMap, previousMap } from '../../../main/adapters/store/map-store.ts';
import { diffMaps } from '../../../main/core/domain/map-diff.ts';
import { verifyStore } from '../../../main/adapters/store/verify-store.ts';

const isRoot = process.getuid?.() === 0;
let work: string, src: string, store: string;

let dirMap = '';

before(() => {
  work = mkdtempSync(join(tmpdir(), 'understudy-roundtrip-'));
  src = join(work, 'src');
  store = join(work, 'store');
  if (isRoot) buildHostileTree(src);
});
after(() => rmSync(work, { recursive: true, force: true }));

const skipSparse = (rel: string) => rel === 'sparse-1tb';

function assertSparseRestored(path: string): void {
  const st = statSync(path);
  assert.equal(st.size, TB);
  assert.ok(st.blocks * 512 < 1 << 20, `sparse file inflated: ${st.blocks * 512} bytes allocated`);
  const fd = openSync(path, 'r');
  try {
    for (const [off, text] of SPARSE_DATA) {
      const buf = Buffer.alloc(text.length + 8);
      readSync(fd, buf, 0, buf.length, off);
      assert.equal(buf.subarray(0, text.length).toString(), text);
      assert.ok(buf.subarray(text.length).every((b) => b === 0));
    }
    const hole = Buffer.alloc(4096, 1);
    readSync(fd, hole, 0, hole.length, 3 * 2 ** 30);
    assert.ok(hole.every((b) => b === 0), 'hole reads as zeros');
  } finally { closeSync(fd); }
}

async function roundTrip(mapId: string, name: string): Promise<void> {
  const dest = join(work, name);
  const r = await restoreMap(store, mapId, dest);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(snapshot(dest, { skipContent: skipSparse }), snapshot(src, { skipContent: skipSparse }));
  assert.equal(xattrDump(dest), xattrDump(src));
  assert.match(xattrDump(dest), /security\.capability=0x01000002/);
  assert.match(xattrDump(dest), /system\.posix_acl_default=/);
  assertSparseRestored(join(dest, 'sparse-1tb'));
}

test('dir: capture of a hostile tree restores byte- and metadata-exact', { skip: !isRoot && 'needs root (mknod, chown, security.* xattrs)' }, async () => {
  const res = await capture({ store, target: `dir:${src}` });
  const { manifest } = await loadMap(store, res.map);
  const byPath = new Map(manifest.entries.map((e) => [e.path, e]));
  assert.deepEqual(byPath.get('sparse-1tb')?.sparse?.length, SPARSE_DATA.length);
  assert.equal(byPath.get('fifo')?.type, 'fifo');
  assert.deepEqual([byPath.get('block-dev')?.rdevMajor, byPath.get('block-dev')?.rdevMinor], [7, 200]);
  // the first path of the link group in key order holds the content; the others point at it
  assert.equal(byPath.get('etc/hard-b')?.type, 'file');
  assert.deepEqual(['hard-a', 'zz-hard-c'].map((k) => byPath.get(k)?.linkTo), ['etc/hard-b', 'etc/hard-b']);
  assert.ok([...byPath.keys()].some((k) => k.startsWith('b64:')), 'invalid UTF-8 name kept as b64: key');
  assert.ok([...byPath.keys()].some((k) => Buffer.byteLength(k) > 3000), 'long path kept');
  assert.ok(res.bytesStored < 6 << 20, `store not inflated by the 1 TB file: ${res.bytesStored}`);
  assert.equal((await verifyStore(store, res.map)).ok, true);
  await roundTrip(res.map, 'restored-dir');
  dirMap = res.map;
});

test('dir: re-capture reads nothing and keeps every entry (xattrs, sparse, links from the stat index); an xattr change is seen', { skip: !isRoot && 'needs root' }, async () => {
  const again = await capture({ store, target: `dir:${src}` });
  assert.equal(again.bytesRead, 0);
  const m1 = (await loadMap(store, dirMap)).manifest, m2 = (await loadMap(store, again.map)).manifest;
  assert.deepEqual(m2.entries, m1.entries);
  assert.equal(m2.entries.find((e) => e.path === 'capable')?.xattrs?.['security.capability'], 'AQAAAgAgAAAAAAAAAAAAAAAAAAA=');
  await roundTrip(again.map, 'restored-again');
  // setting an xattr moves the file's ctime: that file alone is asked (and read) again
  execFileSync('setfattr', ['-n', 'user.changed', '-v', 'yes', join(src, 'empty')]);
  const third = await capture({ store, target: `dir:${src}` });
  assert.equal(third.bytesRead, 0, 'the changed file is empty');
  const m3 = (await loadMap(store, third.map)).manifest;
  assert.equal(m3.entries.find((e) => e.path === 'empty')?.xattrs?.['user.changed'], Buffer.from('yes').toString('base64'));
  assert.deepEqual(m3.entries.filter((e) => e.path !== 'empty'), m1.entries.filter((e) => e.path !== 'empty'));
});

test('tar-stream capture (the ssh:// path, over a local shell) restores exactly', { skip: !isRoot && 'needs root' }, async () => {
  // LocalShell streams tar's stdout with back-pressure (execStream, as the ssh adapter does); the exec-only
  // shell takes the fallback for shells that cannot stream
  const streamed = new LocalShell();
  const res = await captureRemote({ store, target: 'ssh://test@tar-path:22', shell: streamed, sudo: false, root: src });
  await streamed.close();
  const { manifest } = await loadMap(store, res.map);
  assert.equal(manifest.entries.find((e) => e.path === 'sparse-1tb')?.size, TB);
  await roundTrip(res.map, 'restored-tar');
  // the same tree through every path yields the same entries
  const strip = (m: typeof manifest) => m.entries.map((e) => JSON.stringify(e)).sort();
  const dirMap = (await loadMap(store, (await capture({ store, target: `dir:${src}`, full: true })).map)).manifest;
  assert.deepEqual(strip(manifest), strip(dirMap));
  const pushed = await captureRemote({ store, target: 'ssh://test@tar-path-exec:22', shell: execOnlyShell(), sudo: false, root: src });
  assert.deepEqual(strip((await loadMap(store, pushed.map)).manifest), strip(manifest));
});

test('the sparse file is read without walking its holes (GNU tar SEEK_DATA)', { skip: !isRoot && 'needs root' }, () => {
  // du of the store: objects hold data extents only
  const du = Number(execFileSync('du', ['-sb', join(store, 'objects')]).toString().split('\t')[0]);
  assert.ok(du < 8 << 20, `objects take ${du} bytes`);
});

test('tar-stream re-capture is incremental: unchanged files are not read, a changed one is', { skip: !isRoot && 'needs root' }, async () => {
  const target = 'ssh://test@incremental:22';
  const first = await captureRemote({ store, target, shell: execOnlyShell(), sudo: false, root: src });
  assert.ok(first.bytesRead > 5 << 20);
  const again = await captureRemote({ store, target, shell: execOnlyShell(), sudo: false, root: src, previous: await previousMap(store, target) });
  assert.equal(again.bytesRead, 0);
  assert.equal(again.files, first.files);
  writeFileSync(join(src, 'etc', 'config'), 'key=changed\n');
  const third = await captureRemote({ store, target, shell: execOnlyShell(), sudo: false, root: src, previous: await previousMap(store, target) });
  assert.equal(third.bytesRead, 'key=changed\n'.length);
  const m2 = (await loadMap(store, again.map)).manifest, m3 = (await loadMap(store, third.map)).manifest;
  assert.deepEqual(diffMaps(m2, m3), { added: [], changed: ['etc/config'], removed: [] });
  // the reused entries restore exactly like a full read
  await roundTrip(third.map, 'restored-incremental');
});
