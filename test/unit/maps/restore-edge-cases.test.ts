// Round trips on the cases the hostile fixture tree lacks: ns mtimes before 1970 and far in the future
// (Node's utimes takes neither; touch got '@-S.-N'), xattrs with an empty value (setfattr refuses
// 'name=0s') or '='/'%' in the name (GNU tar writes those %3D/%25), and a restore by an unprivileged user
// into a tree with a read-only directory holding a symlink, and a device node it cannot make. An existing
// DIR's own xattrs (a default ACL) must not leak into the tree; a destination too small is refused first.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { snapshot, xattrDump } from './hostile-tree.ts';
import { capture } from '../../../main/adapters/capture/capture.ts';
import { captureRemote } from '../../../main/adapters/capture/capture-remote.ts';
import { LocalShell } from '../../../main/adapters/local/local-shell.ts';
import { loadMap } from '../../../main/adapters/store/map-store.ts';
import { restoreMap } from '../../../main/adapters/restore/restore-map.ts';
import { spawnAsNobody, NOBODY } from '../../integration/helpers/run-as-nobody.ts';

const isRoot = process.getuid?.() === 0;
let work: string, src: string, store: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'understudy-restore-edges-'));
  chmodSync(work, 0o755);
  src = join(work, 'src');
  store = join(work, 'store');
  mkdirSync(src);
  writeFileSync(join(src, 'old'), 'before 1970\n');
  writeFileSync(join(src, 'future'), 'year 2400\n');
  symlinkSync('old', join(src, 'old-link'));
  execFileSync('touch', ['-d', '@-305121599.876543211', join(src, 'old')]);
  execFileSync('touch', ['-h', '-d', '@-631151999.012345679', join(src, 'old-link')]);
  execFileSync('touch', ['-d', '@13569465600.5', join(src, 'future')]);
  writeFileSync(join(src, 'attrs'), 'x\n');
  execFileSync('setfattr', ['-n', 'user.empty', join(src, 'attrs')]);
  execFileSync('setfattr', ['-n', 'user.a=b', '-v', 'eq', join(src, 'attrs')]);
  execFileSync('setfattr', ['-n', 'user.pct%3D', '-v', 'pct', join(src, 'attrs')]);
});
after(() => rmSync(work, { recursive: true, force: true }));

test('mtimes before 1970 and in 2400 (ns), empty xattr values and xattr names with = and % restore exactly', async () => {
  const res = await capture({ store, target: `dir:${src}` });
  const byPath = new Map((await loadMap(store, res.map)).manifest.entries.map((e) => [e.path, e]));
  assert.equal(byPath.get('old')?.mtimeNs, '-305121599876543211');
  assert.deepEqual(Object.keys(byPath.get('attrs')?.xattrs ?? {}).sort(), ['user.a=b', 'user.empty', 'user.pct%3D']);
  const dest = join(work, 'restored');
  const r = await restoreMap(store, res.map, dest);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(snapshot(dest), snapshot(src));
  assert.equal(xattrDump(dest), xattrDump(src));
});

test('an existing empty DIR with a default ACL and a stale xattr: neither leaks into the restored tree', async () => {
  const res = await capture({ store, target: `dir:${src}` });
  const dest = join(work, 'acl-dest');
  mkdirSync(dest);
  execFileSync('setfacl', ['-d', '-m', 'u:5:rwx', dest]);
  execFileSync('setfattr', ['-n', 'user.stale', '-v', '1', dest]);
  await restoreMap(store, res.map, dest);
  assert.equal(xattrDump(dest), xattrDump(src));
});

test('a destination filesystem too small for the content: no-space before anything is written', { skip: !isRoot && 'needs root to mount a small tmpfs' }, async () => {
  const tree = join(work, 'big-tree'), bigStore = join(work, 'big-store'), small = join(work, 'small-fs');
  mkdirSync(tree);
  writeFileSync(join(tree, 'two-mb'), Buffer.alloc(2 << 20, 1));
  const res = await capture({ store: bigStore, target: `dir:${tree}` });
  mkdirSync(small);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1M', 'none', small]);
  try {
    await assert.rejects(restoreMap(bigStore, res.map, join(small, 'dest')), (e: any) => e.code === 'no-space' && /needs 2\.1 MB/.test(e.message));
    assert.deepEqual(readdirSync(small), []);
  } finally {
    execFileSync('umount', [small]);
  }
});

test('the tar stream (ssh:// path) keeps xattr names with = and % as they are', { skip: !isRoot && 'the tar capture path runs as root' }, async () => {
  const shell = new LocalShell();
  const res = await captureRemote({ store, target: 'ssh://test@edges:22', shell, sudo: false, root: src });
  await shell.close();
  const attrs = (await loadMap(store, res.map)).manifest.entries.find((e) => e.path === 'attrs');
  assert.deepEqual(attrs?.xattrs, { 'user.a=b': Buffer.from('eq').toString('base64'), 'user.empty': '', 'user.pct%3D': Buffer.from('pct').toString('base64') });
});

test('an unprivileged restore fills read-only and unsearchable (000) directories, warns about owners and device nodes, exits 0', {
  skip: !isRoot && 'needs root to build the tree and switch to nobody',
}, async () => {
  const tree = join(work, 'ro-tree'), roStore = join(work, 'ro-store');
  mkdirSync(join(tree, 'ro'), { recursive: true });
  writeFileSync(join(tree, 'ro', 'file'), 'f\n');
  symlinkSync('file', join(tree, 'ro', 'link'));
  execFileSync('mkfifo', [join(tree, 'ro', 'fifo')]);
  execFileSync('mknod', [join(tree, 'null'), 'c', '1', '3']);
  mkdirSync(join(tree, 'shut', 'inner'), { recursive: true });
  writeFileSync(join(tree, 'shut', 'inner', 'f'), 's\n');
  chmodSync(join(tree, 'ro'), 0o555);
  chmodSync(join(tree, 'shut'), 0o000);
  const res = await capture({ store: roStore, target: `dir:${tree}` });
  execFileSync('chmod', ['-R', 'a+rX', roStore]);
  const dest = join(work, 'ro-dest');
  mkdirSync(dest);
  chownSync(dest, NOBODY, NOBODY);
  const r = spawnAsNobody([process.execPath, 'bin/understudy.mjs', 'restore', res.map, dest, '--store', roStore], { HOME: '/tmp' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /chardev \/null not created \(needs root\)/);
  assert.match(r.stderr, /owner of \/ro not set/);
  assert.equal(readlinkSync(join(dest, 'ro', 'link')), 'file');
  // root reads through the mode-000 dir to compare; every entry but the device is exact bar owners
  const facts = snapshot(dest), want = snapshot(tree);
  delete want.null;
  const noOwners = (f: typeof facts) => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, { ...v, uid: 0, gid: 0 }]));
  assert.deepEqual(noOwners(facts), noOwners(want));
  assert.equal(facts.shut?.mode, 0o000);
});
