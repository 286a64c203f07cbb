// Hand-made maps that a capture never writes: each must be refused before restore writes anything (a
// setfattr dump injected through an xattr value once set attributes outside DIR). Plus the store's own
// integrity: an altered map file is refused, verify names hardlinked paths and damaged map files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry, Manifest } from '../../../main/core/domain/manifest.ts';
import { saveMap } from '../../../main/adapters/store/map-store.ts';
import { restoreMap } from '../../../main/adapters/restore/restore-map.ts';
import { verifyStore } from '../../../main/adapters/store/verify-store.ts';
import { objectPath } from '../../../main/adapters/store/store-paths.ts';
import { diffMaps } from '../../../main/core/domain/map-diff.ts';

let work: string;
before(() => { work = mkdtempSync(join(tmpdir(), 'understudy-hostile-maps-')); });
after(() => rmSync(work, { recursive: true, force: true }));

const d = (path: string, extra: Partial<Entry> = {}): Entry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtimeNs: '1000000000', size: 0, ...extra });
const m = (entries: Entry[]): Manifest => ({ version: 1, target: 'dir:/evil', host: 'evil', capturedAt: '2026-01-01T00:00:00Z', entries, excluded: [], unstable: [], filesystems: [] });
const hasXattrs = () => spawnSync('setfattr', ['--version']).status === 0;

test('an xattr value that is not base64 cannot inject a setfattr record for a file outside DIR', { skip: !hasXattrs() && 'setfattr missing' }, async () => {
  const store = join(work, 'inject'), victim = join(work, 'victim');
  writeFileSync(victim, '');
  const id = await saveMap(store, m([d(''), d('x', { xattrs: { 'user.a': 'AA==\n\n# file: ../victim\nuser.pwned=0sAA==' } })]));
  const dest = join(work, 'dest-inject');
  await assert.rejects(restoreMap(store, id, dest), (e: any) => e.code === 'store-corrupt' && /xattrs/.test(e.message));
  assert.equal(existsSync(dest), false);
  assert.doesNotMatch(spawnSync('getfattr', ['-d', '-m', '-', victim], { encoding: 'utf8' }).stdout, /pwned/);
});

test('malformed entries are refused before anything is written', async () => {
  const store = join(work, 'malformed');
  const cases: Array<[string, Entry[]]> = [
    ['non-canonical key (b64: spelling of a plain name)', [d(''), d('a'), d('b64:YQ==', { type: 'symlink', target: '/tmp' })]],
    ['symlink target with a NUL byte', [d(''), d('l', { type: 'symlink', target: 'a\u0000b' })]],
    ['empty symlink target', [d(''), d('l', { type: 'symlink', target: '' })]],
    ['negative device number', [d(''), d('c', { type: 'chardev', rdevMajor: -1, rdevMinor: 3 })]],
    ['uid past uid_t', [d(''), d('f', { uid: 2 ** 40 })]],
    ['uid -1 (chown would leave the owner)', [d(''), d('f', { uid: 0xffffffff })]],
    ['mtime past 64-bit seconds', [d(''), d('f', { mtimeNs: '99999999999999999999999999999' })]],
    ['mtime not a decimal', [d(''), d('f', { mtimeNs: '1e9' })]],
    ['xattrs not an object', [d(''), d('f', { xattrs: 'x' as any })]],
  ];
  for (const [i, [why, entries]] of cases.entries()) {
    const id = await saveMap(store, m(entries));
    const dest = join(work, `dest-malformed-${i}`);
    await assert.rejects(restoreMap(store, id, dest), (e: any) => e.code === 'store-corrupt', why);
    assert.equal(existsSync(dest), false, why);
  }
});

test('special nodes are made at their own names: a map entry named like a temp node does not collide', async () => {
  const store = join(work, 'nodes');
  const id = await saveMap(store, m([d(''), d('.understudy-node-1', { type: 'fifo', mode: 0o640 }), d('zz', { type: 'fifo', mode: 0o604 })]));
  const dest = join(work, 'dest-nodes');
  const r = await restoreMap(store, id, dest);
  assert.deepEqual(r.warnings, []);
  const out = spawnSync('stat', ['-c', '%n %F %a', '.understudy-node-1', 'zz'], { cwd: dest, encoding: 'utf8' }).stdout;
  assert.equal(out, '.understudy-node-1 fifo 640\nzz fifo 604\n');
});

test('restore into a path whose parent does not exist is a usage error, nothing created', async () => {
  const store = join(work, 'parent');
  const id = await saveMap(store, m([d('')]));
  await assert.rejects(restoreMap(store, id, join(work, 'no', 'such', 'dir')), (e: any) => e.code === 'usage' && /parent/.test(e.message));
  assert.equal(existsSync(join(work, 'no')), false);
});

test('a path that would pass PATH_MAX under DIR is refused before anything is written', async () => {
  const store = join(work, 'long-paths');
  const dirs = [d('')];
  for (let i = 1, key = ''; i <= 17; i++) { key += (key ? '/' : '') + String(i).padEnd(250, 'x'); dirs.push(d(key)); }
  const id = await saveMap(store, m(dirs));
  const dest = join(work, 'dest-long');
  await assert.rejects(restoreMap(store, id, dest), (e: any) => e.code === 'usage' && /4095-byte path limit/.test(e.message));
  assert.equal(existsSync(dest), false);
});

/** A store with one map: dir, a file hardlinked twice. Returns the store, map id and the file's object. */
async function linkedStore(name: string): Promise<{ store: string; id: string; sha: string }> {
  const store = join(work, name);
  const content = Buffer.from('linked\n');
  const sha = spawnSync('sha256sum', { input: content, encoding: 'utf8' }).stdout.split(' ')[0]!;
  const id = await saveMap(store, m([d(''), d('a', { type: 'file', size: content.length, sha256: sha, mode: 0o644 }),
    d('b', { type: 'hardlink', linkTo: 'a', mode: 0o644 })]));
  mkdirSync(join(objectPath(store, sha), '..'), { recursive: true });
  writeFileSync(objectPath(store, sha), content);
  return { store, id, sha };
}

test('verify names the hardlinked paths of a corrupt object too', async () => {
  const { store, id, sha } = await linkedStore('verify-links');
  assert.equal((await verifyStore(store, id)).ok, true);
  writeFileSync(objectPath(store, sha), 'LINKED\n');
  const r = await verifyStore(store, id);
  assert.deepEqual(r.corrupt, [{ object: sha, reason: 'mismatch', paths: ['/a', '/b'] }]);
});

test('a corrupt object of the same size: restore refuses before writing and names it with its paths', async () => {
  const { store, id, sha } = await linkedStore('flipped-object');
  writeFileSync(objectPath(store, sha), 'LINKED\n');
  const dest = join(work, 'dest-flipped');
  await assert.rejects(restoreMap(store, id, dest), (e: any) => e.code === 'store-corrupt'
    && e.details.corrupt[0].object === sha && e.details.corrupt[0].paths.join() === '/a,/b');
  assert.equal(existsSync(dest), false);
  const r = cli('restore', id, dest, '--store', store);
  assert.deepEqual([r.status, r.result.error.code, r.result.corrupt.length], [3, 'store-corrupt', 1]);
});

test('an object cut short, or a directory where it should be: restore refuses before writing, verify says missing', async () => {
  const { store, id, sha } = await linkedStore('short-object');
  writeFileSync(objectPath(store, sha), 'li');
  const dest = join(work, 'dest-short');
  await assert.rejects(restoreMap(store, id, dest), (e: any) => e.code === 'store-corrupt' && /has 2 bytes, the map says 7/.test(e.message));
  assert.equal(existsSync(dest), false);
  rmSync(objectPath(store, sha));
  mkdirSync(objectPath(store, sha));
  assert.deepEqual((await verifyStore(store, undefined)).corrupt, [{ object: sha, reason: 'missing', paths: ['/a', '/b'] }]);
  rmSync(join(objectPath(store, sha), '..'), { recursive: true });
  writeFileSync(join(objectPath(store, sha), '..'), 'a file where a fan-out directory belongs');
  assert.deepEqual((await verifyStore(store, undefined)).corrupt, [{ object: sha, reason: 'missing', paths: ['/a', '/b'] }]);
});

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/understudy.mjs', ...args, '--json'], { encoding: 'utf8', cwd: join(import.meta.dirname, '../../..') });
  return { status: r.status, result: JSON.parse(r.stdout.trim().split('\n').pop()!) };
};

test('an altered map file is refused by restore and diff, and verify MAP names it (exit 3)', async () => {
  const { store, id } = await linkedStore('altered');
  const path = join(store, 'maps', `${id}.json`);
  // still valid JSON, different bytes: a changed mode
  writeFileSync(path, readFileSync(path, 'utf8').replace('"mode":420', '"mode":2541'));
  const dest = join(work, 'dest-altered');
  await assert.rejects(restoreMap(store, id, dest), (e: any) => e.code === 'store-corrupt' && /does not match its id/.test(e.message));
  assert.equal(existsSync(dest), false);
  const diff = cli('diff', id, id, '--store', store);
  assert.equal(diff.status, 3);
  truncateSync(path, 10);
  const v = cli('verify', id.slice(0, 8), '--store', store);
  assert.equal(v.status, 3);
  assert.deepEqual(v.result.corrupt, [{ object: `map:${id}`, reason: 'bad-map', paths: [] }]);
  // maps names it instead of leaving it out without a word
  const listed = cli('maps', '--store', store);
  assert.equal(listed.status, 0);
  assert.deepEqual([listed.result.maps, listed.result.unreadable], [[], [id]]);
});

test("capture --exclude of the root itself or through '..', and verify of a missing store, are usage errors", () => {
  const store = join(work, 'exclude-store');
  for (const ex of ['/', './', '../etc', '/var/../etc']) {
    const r = cli('capture', `dir:${work}`, '--exclude', ex, '--store', store);
    assert.equal(r.status, 2, ex);
    assert.equal(r.result.error.code, 'usage');
  }
  assert.equal(existsSync(store), false);
  // verify of a store that is not there is no pass
  const v = cli('verify', '--store', store);
  assert.deepEqual([v.status, v.result.error.code], [2, 'usage']);
  assert.equal(existsSync(store), false);
});

test('human diff output keeps one path per line: a newline in a name is shown escaped', async () => {
  const store = join(work, 'newline-names');
  const a = await saveMap(store, m([d(''), d('old\nname', { type: 'fifo' })]));
  const b = await saveMap(store, m([d(''), d('new\nname', { type: 'fifo' })]));
  const r = spawnSync(process.execPath, ['bin/understudy.mjs', 'diff', a, b, '--store', store], { encoding: 'utf8', cwd: join(import.meta.dirname, '../../..') });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '+ /new\\x0aname\n- /old\\x0aname\n1 added, 0 changed, 1 removed\n');
});

test('diff: a hardlink whose group content changed is changed too', () => {
  const f = (path: string, sha: string): Entry => d(path, { type: 'file', size: 3, sha256: sha });
  const link = (path: string, to: string): Entry => d(path, { type: 'hardlink', linkTo: to });
  const a = m([d(''), f('a', 'a'.repeat(64)), link('b', 'a'), f('c', 'c'.repeat(64)), link('d', 'c')]);
  const b = m([d(''), f('a', 'b'.repeat(64)), link('b', 'a'), d('c', { type: 'file', size: 3, sha256: 'c'.repeat(64), mode: 0o600 }), link('d', 'c')]);
  // 'c' changed its mode only: 'd' shares it, but the mode is the inode's and its entry says so itself
  assert.deepEqual(diffMaps(a, b), { added: [], changed: ['a', 'b', 'c'], removed: [] });
});
