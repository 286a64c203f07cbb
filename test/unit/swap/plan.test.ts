import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Entry, Manifest } from '../../../main/core/domain/manifest.ts';
import { computeDelta, depth, isUnder, parentKey } from '../../../main/core/domain/swap-delta.ts';
import { keyFromBytes } from '../../../main/core/domain/path-key.ts';
import { classify, type HostEntry } from '../../../main/core/domain/swap-drift.ts';
import { diff3Merge } from '../../../main/core/domain/swap-diff3.ts';
import { buildPlan, type Change } from '../../../main/core/domain/swap-plan.ts';
import { encodeBytes, formatPlan, mtimeField, planChunks } from '../../../main/core/domain/swap-plan-format.ts';
import { indexByPath } from '../../../main/core/domain/swap-entry.ts';

const T = '1700000000000000000';
const dir = (path: string, extra: Partial<Entry> = {}): Entry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtimeNs: T, size: 0, ...extra });
const file = (path: string, sha: string, extra: Partial<Entry> = {}): Entry =>
  ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs: T, size: sha.length, sha256: sha.padEnd(64, '0'), ...extra });
const m = (entries: Entry[]): Pick<Manifest, 'entries'> => ({ entries });

test('delta: added, changed (content, metadata-only, type) and removed; hardlinks follow their leader', () => {
  const a = m([dir(''), dir('etc'), file('etc/a', 'a'), file('etc/b', 'b'), file('etc/c', 'c'), file('bin/x', 'x'),
    { ...file('bin/y', ''), type: 'hardlink', linkTo: 'bin/x', sha256: undefined }]);
  const b = m([dir(''), dir('etc'), file('etc/a', 'A'), file('etc/b', 'b', { mode: 0o600 }),
    { ...file('etc/c', ''), type: 'symlink', target: 'a', sha256: undefined }, file('etc/new', 'n'), file('bin/x', 'X'),
    { ...file('bin/y', ''), type: 'hardlink', linkTo: 'bin/x', sha256: undefined }]);
  const d = computeDelta(a, b);
  assert.deepEqual(d.added, ['etc/new']);
  assert.deepEqual(d.changed.sort(), ['bin/x', 'bin/y', 'etc/a', 'etc/b', 'etc/c']);
  assert.deepEqual(d.removed, []);
  assert.deepEqual(computeDelta(b, a).removed, ['etc/new']);
  assert.equal(parentKey('etc/a'), 'etc');
  assert.equal(parentKey('top'), '');
  assert.equal(parentKey(''), null);
});

test('drift: unchanged -> apply, host already like map2 -> nothing, both changed -> conflict unless preferred', () => {
  const map1 = [dir(''), file('etc/a', 'a'), file('etc/b', 'b'), file('usr/c', 'c'), file('usr/d', 'd')];
  const map2 = [dir(''), file('etc/a', 'A'), file('etc/b', 'B'), file('usr/c', 'C'), file('usr/d', 'D')];
  const host = new Map<string, HostEntry | null>([
    ['etc/a', file('etc/a', 'a', { mtimeNs: '1' })], // only touched: not drift
    ['etc/b', file('etc/b', 'B')],                   // the host made the same change
    ['usr/c', file('usr/c', 'h')],                   // both changed
    ['usr/d', null],                                 // host removed it, the upgrade changed it
  ]);
  const d = computeDelta(m(map1), m(map2));
  const i1 = indexByPath(m(map1)), i2 = indexByPath(m(map2));
  const kinds = Object.fromEntries(classify(d.items, host, i1, i2).map((x) => [x.path, x.kind]));
  assert.deepEqual(kinds, { 'etc/a': 'apply', 'etc/b': 'already', 'usr/c': 'conflict', 'usr/d': 'conflict' });
  const c = classify(d.items, host, i1, i2).find((x) => x.path === 'usr/d');
  assert.ok(c && c.kind === 'conflict');
  assert.equal(c.conflict.host, 'removed');
  assert.equal(c.conflict.sandbox, 'content changed');
  const prefer = new Map([['usr/c', 'host' as const], ['usr/d', 'sandbox' as const]]);
  const k2 = Object.fromEntries(classify(d.items, host, i1, i2, prefer).map((x) => [x.path, x.kind]));
  assert.equal(k2['usr/c'], 'keep-host');
  assert.equal(k2['usr/d'], 'apply');
});

test('drift: text under etc/ changed on both sides is a merge candidate; elsewhere a conflict', () => {
  const map1 = [file('etc/x.conf', 'a'), file('opt/x.conf', 'a')];
  const map2 = [file('etc/x.conf', 'b'), file('opt/x.conf', 'b')];
  const host = new Map<string, HostEntry | null>([['etc/x.conf', file('etc/x.conf', 'h')], ['opt/x.conf', file('opt/x.conf', 'h')]]);
  const out = classify(computeDelta(m(map1), m(map2)).items, host, indexByPath(m(map1)), indexByPath(m(map2)));
  assert.deepEqual(out.map((x) => x.kind), ['merge', 'conflict']);
});

test('drift: removing a directory that holds host-only files is a conflict', () => {
  const map1 = [dir('opt'), dir('opt/app'), file('opt/app/f', 'f')];
  const map2 = [dir('opt')];
  const host = new Map<string, HostEntry | null>([
    ['opt/app', { ...dir('opt/app'), children: ['opt/app/f', 'opt/app/local.conf'] }], ['opt/app/f', file('opt/app/f', 'f')]]);
  const out = classify(computeDelta(m(map1), m(map2)).items, host, indexByPath(m(map1)), indexByPath(m(map2)));
  const app = out.find((x) => x.path === 'opt/app');
  assert.equal(app?.kind, 'conflict');
  assert.match(app && app.kind === 'conflict' ? app.conflict.host : '', /local\.conf/);
});

test('diff3: clean merges of separate changes; overlapping or touching changes refuse', () => {
  const base = 'a\nb\nc\nd\ne\nf\n';
  assert.equal(diff3Merge(base, 'A\nb\nc\nd\ne\nf\n', 'a\nb\nc\nd\ne\nF\n'), 'A\nb\nc\nd\ne\nF\n');
  assert.equal(diff3Merge(base, 'a\nb\nc\nd\ne\nf\nhost=1\n', 'a\nb\nC\nd\ne\nf\n'), 'a\nb\nC\nd\ne\nf\nhost=1\n');
  assert.equal(diff3Merge(base, 'a\nb\nX\nd\ne\nf\n', 'a\nb\nY\nd\ne\nf\n'), null);
  assert.equal(diff3Merge(base, 'a\nB\nc\nd\ne\nf\n', 'a\nb\nC\nd\ne\nf\n'), null, 'adjacent changes are a conflict');
  assert.equal(diff3Merge(base, 'a\nb\nX\nd\ne\nf\n', 'a\nb\nX\nd\ne\nf\n'), 'a\nb\nX\nd\ne\nf\n');
  assert.equal(diff3Merge(base, 'b\nc\nd\ne\nf\n', 'a\nb\nc\nd\ne\n'), 'b\nc\nd\ne\n', 'deletions at both ends');
  assert.equal(diff3Merge(base, base, 'z\n'), 'z\n');
});

test('plan order: dirs parents first, files, hardlinks, deletions deepest first, dpkg db last, dir times at the end', () => {
  const parents = new Map(['', 'etc', 'var/lib/dpkg', 'old'].map((p) => [p, { now: dir(p), wantMtimeNs: T }]));
  const changes: Change[] = [
    { path: 'var/lib/dpkg/status', from: file('var/lib/dpkg/status', 's'), to: file('var/lib/dpkg/status', 'S') },
    { path: 'old/sub', from: dir('old/sub'), to: null },
    { path: 'old/sub/f', from: file('old/sub/f', 'f'), to: null },
    { path: 'new/deep', from: null, to: dir('new/deep') },
    { path: 'new', from: null, to: dir('new') },
    { path: 'new/deep/f', from: null, to: file('new/deep/f', 'f') },
    { path: 'etc/link', from: null, to: { ...file('etc/link', ''), type: 'hardlink', linkTo: 'new/deep/f' } },
    { path: 'etc/mode', from: file('etc/mode', 'm'), to: file('etc/mode', 'm', { mode: 0o600 }) },
  ];
  const plan = buildPlan({ changes, parents, mounts: [''] });
  const seq = plan.ops.map((o) => `${o.kind}:${o.path}`);
  assert.deepEqual(seq, [
    'mkdir:new', 'mkdir:new/deep',
    'meta:etc/mode', 'put:new/deep/f',
    'link:etc/link',
    'del:old/sub/f', 'del:old/sub',
    'put:var/lib/dpkg/status',
    'meta:var/lib/dpkg', 'meta:new/deep', 'meta:old/sub', 'meta:etc', 'meta:new', 'meta:old', 'meta:',
  ]);
  assert.deepEqual(plan.ops.map((o) => o.n), plan.ops.map((_, i) => i + 1));
  assert.equal(plan.filesToStage, 2);
});

test('plan format: odd bytes survive as octal escapes, mtimes keep nanoseconds, modes keep 5 digits', () => {
  assert.equal(encodeBytes(new TextEncoder().encode('a b\n-\\')), 'a\\0040b\\0012-\\0134');
  // '-' alone is the agent's "none": a field never starts with a raw one
  assert.equal(encodeBytes(new TextEncoder().encode('-')), '\\0055');
  assert.equal(encodeBytes(new TextEncoder().encode('-x-y')), '\\0055x-y');
  assert.equal(mtimeField('1700000000000000001'), '1700000000.000000001');
  const plan = buildPlan({ changes: [{ path: 'sbin/x', from: null, to: file('sbin/x', 'x', { mode: 0o4755 }) }], parents: new Map(), mounts: [''] });
  const text = formatPlan({ txid: 't1', kind: 'swap', areas: ['/w/a0'] }, plan.ops);
  assert.match(text, /^understudy-plan 1 t1 swap 1\n/);
  assert.match(text, /prep 1 0 \/sbin\/x file - - - - 1700000000\.000000000 - -\n/);
  assert.match(text, /op 1 put 0 \/sbin\/x\n/);
});

test('paths: depth and isUnder measure plain keys as text and b64 keys by their bytes, alike', () => {
  const odd = keyFromBytes(new Uint8Array([0x75, 0x73, 0x72, 0x2f, 0xff, 0x2f, 0x61])); // usr/\xff/a
  assert.ok(odd.startsWith('b64:'));
  assert.deepEqual([depth(''), depth('usr'), depth('usr/lib/x-1'), depth(odd)], [0, 1, 3, 3]);
  assert.equal(isUnder('usr/lib', 'usr'), true);
  assert.equal(isUnder('usr', 'usr'), true);
  assert.equal(isUnder('usrx/lib', 'usr'), false);
  assert.equal(isUnder('us', 'usr'), false);
  assert.equal(isUnder(odd, 'usr'), true, 'a b64 key below a plain directory');
  assert.equal(isUnder('usr/lib', odd), false);
  assert.equal(isUnder(odd, ''), true);
});

test('plan format: a large plan goes out in chunks of whole lines; plain and odd names encode as before', () => {
  const changes: Change[] = [];
  for (let i = 0; i < 3000; i++) changes.push({ path: `usr/lib/p-${i}/f.so`, from: null, to: file(`usr/lib/p-${i}/f.so`, String(i)) });
  changes.push({ path: '-lead/a b', from: null, to: file('-lead/a b', 'z') });
  const plan = buildPlan({ changes, parents: new Map(), mounts: [''] });
  const chunks = [...planChunks({ txid: 't2', kind: 'swap', areas: ['/w/a0'], layout: 'flat' }, plan.ops)];
  assert.ok(chunks.length > 1, 'more than one chunk');
  for (const c of chunks) assert.ok(c.endsWith('\n'), 'every chunk ends a line');
  const text = chunks.join('');
  assert.match(text, /\nop \d+ put 0 \/usr\/lib\/p-7\/f\.so\n/, "a '-' inside a plain name stays raw");
  assert.match(text, /\nop \d+ put 0 \/-lead\/a\\0040b\n/, 'a name with a space is escaped; a leading - after the / is raw');
  assert.match(text, /\nend\n$/);
});
