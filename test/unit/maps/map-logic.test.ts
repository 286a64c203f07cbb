// Pure map logic: diff, validation of untrusted maps, canonical encoding, scope rules, targets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Entry, Manifest } from '../../../main/core/domain/manifest.ts';
import { diffMaps } from '../../../main/core/domain/map-diff.ts';
import { isSafePathKey, validateManifest } from '../../../main/core/domain/map-validate.ts';
import { canonicalManifest, canonicalPieces } from '../../../main/core/domain/map-canonical.ts';
import { classifyFs, mountsUnder, parseMountInfo } from '../../../main/core/domain/map-scope.ts';
import { parseTarget, targetString } from '../../../main/core/domain/map-target.ts';
import { compareKeys, keyFromBytes } from '../../../main/core/domain/path-key.ts';

const SHA = 'a'.repeat(64);
const dir = (path: string): Entry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtimeNs: '1', size: 0 });
const file = (path: string, extra: Partial<Entry> = {}): Entry => ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs: '1', size: 3, sha256: SHA, ...extra });
const map = (entries: Entry[]): Manifest => ({ version: 1, target: 'dir:/x', host: 'x', capturedAt: '2026-01-01T00:00:00Z', entries, excluded: [], unstable: [], filesystems: [] });

test('diff: added, changed by content or metadata, removed', () => {
  const a = map([dir(''), dir('etc'), file('etc/a'), file('etc/b'), file('etc/gone')]);
  const b = map([dir(''), dir('etc'), file('etc/a', { sha256: 'b'.repeat(64) }), file('etc/b', { mode: 0o600 }), file('etc/new')]);
  assert.deepEqual(diffMaps(a, b), { added: ['etc/new'], changed: ['etc/a', 'etc/b'], removed: ['etc/gone'] });
  const c = map([dir(''), dir('etc'), file('etc/a', { xattrs: { 'security.capability': 'AQ==' } }), file('etc/b'), file('etc/gone')]);
  assert.deepEqual(diffMaps(a, c).changed, ['etc/a']);
});

test('unsafe path keys are rejected', () => {
  for (const bad of ['/etc', '..', 'a/../b', 'a//b', 'a/', './a', 'a/.', keyFromBytes(Buffer.from([0x61, 0x00]))]) assert.equal(isSafePathKey(bad), false, bad);
  for (const ok of ['', 'a', 'a/b', '...', '..a', 'a..', keyFromBytes(Buffer.from([0xff, 0x2f, 0x61]))]) assert.equal(isSafePathKey(ok), true, ok);
});

test('validation refuses maps that could write outside the destination', () => {
  assert.throws(() => validateManifest(map([dir(''), file('../escape')])), /unsafe path/);
  const viaLink: Entry = { ...dir('link'), type: 'symlink', target: '/etc' };
  assert.throws(() => validateManifest(map([dir(''), viaLink, file('link/passwd')])), /parent is not a directory/);
  assert.throws(() => validateManifest(map([dir(''), { ...file('h'), type: 'hardlink', linkTo: '../x' }])), /hardlink to a missing/);
  assert.throws(() => validateManifest(map([dir(''), file('a'), file('a')])), /duplicate/);
  assert.throws(() => validateManifest(map([dir(''), file('s', { sparse: [[0, 10]], size: 5 })])), /sparse/);
  assert.throws(() => validateManifest(map([file('a')])), /no root/);
  validateManifest(map([dir(''), dir('etc'), file('etc/a'), { ...file('b'), type: 'hardlink', linkTo: 'etc/a' }]));
});

test('canonical encoding ignores input order and is stable', () => {
  const a = map([dir(''), file('b'), file('a')]);
  const b = map([file('a'), dir(''), file('b')]);
  assert.equal(canonicalManifest(a), canonicalManifest(b));
  assert.ok(canonicalManifest(a).indexOf('"path":"a"') < canonicalManifest(a).indexOf('"path":"b"'));
});

test('canonical pieces: byte-order entries, sorted keys, same bytes however they are split', () => {
  const sorted = (v: unknown): unknown => Array.isArray(v) ? v.map(sorted) : v && typeof v === 'object'
    ? Object.fromEntries(Object.keys(v).sort().filter((k) => (v as any)[k] !== undefined).map((k) => [k, sorted((v as any)[k])])) : v;
  const entries: Entry[] = [dir(''), file('a-c'), file('a/b'), file('\u00e9'), file('\u{1F600}'), file('\uFFFD'), file('b64:/w=='), file('b64:YWI='),
    file('x', { sha256: 'ab', sparse: [[0, 1]], xattrs: { 'user.b': 'eA==', 'security.a': 'eQ==' } }), { ...file('h'), type: 'hardlink', linkTo: 'x' },
    { ...file('d'), type: 'chardev', rdevMajor: 1, rdevMinor: 3 }, { ...file('s'), type: 'symlink', target: 'b64:/w==' }];
  const m = { ...map(entries), host: 'h "entries":[]', excluded: [{ path: 'z', reason: 'operator' as const }], unstable: ['q', 'b'] };
  // byte order: 'a-c' (0x2d) < 'a/b' (0x2f); U+FFFD (EF BF BD) < U+1F600 (F0 ..) though UTF-16 orders them the other way
  const order = [...entries].sort((p, q) => compareKeys(p.path, q.path));
  const expected = JSON.stringify(sorted({ ...m, entries: order, excluded: m.excluded, unstable: ['b', 'q'] }));
  assert.equal(canonicalManifest(m), expected);
  assert.equal([...canonicalPieces(m, 10)].join(''), expected);
  assert.ok(expected.indexOf('"path":"\uFFFD"') < expected.indexOf('"path":"\u{1F600}"'));
});

test('scope: mountinfo parsing and classification', () => {
  const text = [
    '22 27 0:21 / /proc rw - proc proc rw',
    '27 1 254:0 / / rw - ext4 /dev/vda rw',
    '30 27 254:1 / /boot rw - ext4 /dev/vda1 rw',
    '31 27 0:40 / /mnt/nfs\\040share rw - nfs4 srv:/x rw',
    '32 27 0:41 / /home/u/fuse rw - fuse.sshfs u@h: rw',
    '33 27 254:0 /srv /bind rw - ext4 /dev/vda rw',
    '34 27 0:25 / /run rw - tmpfs tmpfs rw',
  ].join('\n');
  const m = mountsUnder(parseMountInfo(text), '/');
  assert.equal(m.get('boot')?.cls, 'real');
  assert.equal(m.get('proc')?.cls, 'pseudo-fs');
  assert.equal(m.get('mnt/nfs share')?.cls, 'network-fs');
  assert.equal(m.get('home/u/fuse')?.cls, 'fuse');
  assert.equal(m.get('bind')?.cls, 'other-fs');
  assert.equal(m.get('run')?.cls, 'volatile');
  assert.equal(classifyFs('xfs'), 'real');
});

test('targets parse and print canonically', () => {
  assert.deepEqual(parseTarget('ssh://root@web1'), { kind: 'ssh', user: 'root', host: 'web1', port: 22 });
  assert.equal(targetString(parseTarget('ssh://op@10.0.0.5:2222')), 'ssh://op@10.0.0.5:2222');
  assert.equal(targetString(parseTarget('dir:/srv/root')), 'dir:/srv/root');
  assert.throws(() => parseTarget('ftp://x'), /not dir:PATH/);
  assert.throws(() => parseTarget('dir:'), /needs a path/);
});
