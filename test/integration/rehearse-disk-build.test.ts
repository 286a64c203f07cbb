// The sandbox base image is exact: a hostile fixture (hardlink groups, duplicate content, empty files,
// setuid/setgid/sticky, owners, ns mtimes, capabilities, POSIX ACLs, symlinks, fifo, devices, a sparse
// file, names that are not UTF-8) is captured, built into an image by baseImageFor, and the image is
// loop-mounted read-only and compared entry by entry with the source tree by an independent walk
// (hostile-tree.ts's snapshot/xattrDump, not understudy's capture). Only the sandbox edits' own paths
// may differ, and those the edits create must be root's. Built through debugfs (the usual path) and, with
// names holding a newline or CR (which a debugfs script cannot carry; one holding a capability, one a
// directory holding a device node), through the hardlink checkout + mkfs.ext4 -d; each both as root and
// as an unprivileged user (nobody, via setpriv, on its own copy of the store and its own XDG cache),
// which must give the same exact image. The store must come out untouched: every object's content,
// mode, owner, mtime and link count as before.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, closeSync, linkSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync,
  statSync, symlinkSync, unlinkSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHostileTree, snapshot, xattrDump } from '../unit/maps/hostile-tree.ts';
import { capture } from '../../main/adapters/capture/capture.ts';
import { loadMap } from '../../main/adapters/store/map-store.ts';
import { baseImageFor, type BaseImage } from '../../main/adapters/sandbox/disk-build.ts';
import { planSandboxEdits } from '../../main/adapters/sandbox/sandbox-edits.ts';
import { NOBODY, runTsAsNobody } from './helpers/run-as-nobody.ts';

const isRoot = process.getuid?.() === 0;
const skip = !isRoot && 'needs root (to build the fixture, to act as nobody, to loop-mount)';
const NEWLINE_NAME = 'new\nline';
const CR_DIR = 'cr\rdir';
let work: string, src: string, store: string;
const savedImages = process.env.UNDERSTUDY_IMAGES;

/** The hostile tree, bootable (a kernel and initrd) and with the files the sandbox edits touch. */
function buildFixture(root: string): void {
  buildHostileTree(root);
  unlinkSync(join(root, 'sparse-1tb')); // a 1 TB file would make a 1.3 TB image: a smaller one below
  unlinkSync(Buffer.from(join(root, NEWLINE_NAME)));
  const fd = openSync(join(root, 'sparse'), 'w');
  writeSync(fd, Buffer.from('head'), 0, 4, 0);
  writeSync(fd, Buffer.from('middle'), 0, 6, 40 << 20);
  ftruncateSync(fd, 64 << 20);
  closeSync(fd);
  for (const d of ['boot', 'sub', 'sub/deeper', 'etc/ssh', 'root', 'root/.ssh']) mkdirSync(join(root, d));
  writeFileSync(join(root, 'boot/vmlinuz-6.1.0-test'), 'not really a kernel\n');
  writeFileSync(join(root, 'boot/initrd.img-6.1.0-test'), 'not really an initrd\n');
  // duplicate content: three independent files, and a hardlink group with the same bytes as another file
  for (const p of ['dup-1', 'sub/dup-2', 'sub/deeper/dup-3', 'twin-standalone']) writeFileSync(join(root, p), 'same bytes\n');
  writeFileSync(join(root, 'hard-group-1'), 'hardlinked content\n'); // = the content of hostile-tree's hard-a group
  linkSync(join(root, 'hard-group-1'), join(root, 'sub/hard-group-2'));
  for (const p of ['empty-2', 'sub/empty-3', 'sub/deeper/empty-4']) writeFileSync(join(root, p), '');
  // what a debugfs script could misread: quotes, backslashes, debugfs' own <inode> syntax
  for (const p of ['quote"d', 'back\\slash', '<2>', 'sub/ lead and trail ']) writeFileSync(join(root, p), `${p}\n`);
  mkdirSync(join(root, '<12>'));
  writeFileSync(join(root, '<12>/x'), 'in <12>\n');
  symlinkSync('target "with" quotes', join(root, 'quoted-link'));
  chmodSync(join(root, 'sub/empty-3'), 0o4711);
  chownSync(join(root, 'sub/deeper/empty-4'), 70000, 80000);
  writeFileSync(join(root, 'etc/fstab'), 'UUID=x / ext4 defaults 0 1\n');
  chmodSync(join(root, 'etc/fstab'), 0o640);
  chownSync(join(root, 'etc/fstab'), 0, 42);
  writeFileSync(join(root, 'etc/machine-id'), '0123456789abcdef0123456789abcdef\n');
  writeFileSync(join(root, 'etc/ssh/ssh_host_ed25519_key'), 'secret\n');
  writeFileSync(join(root, 'root/.ssh/authorized_keys'), 'ssh-ed25519 AAAA host-key\n');
  for (const [p, t] of [['sub', '@1500000000.000000001'], ['sub/deeper/dup-3', '@1400000000.999999999'], ['hard-group-1', '@1300000000.5'],
    ['boot', '@1200000000.25'], ['', '@1100000000.75']] as const) execFileSync('touch', ['-h', '-d', t, join(root, p)]);
}

/** Every store object's content hash and metadata (ctime aside: linking changes it). */
function storeState(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const objects = join(dir, 'objects');
  for (const d of readdirSync(objects)) {
    for (const f of readdirSync(join(objects, d))) {
      const p = join(objects, d, f);
      const st = lstatSync(p, { bigint: true });
      out[`${d}${f}`] = [createHash('sha256').update(readFileSync(p)).digest('hex'), st.mode, st.uid, st.gid, st.mtimeNs, st.nlink, st.ino].join(' ');
    }
  }
  return out;
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'understudy-diskbuild-'));
  src = join(work, 'src');
  store = join(work, 'store');
  process.env.UNDERSTUDY_IMAGES = join(work, 'images');
  if (isRoot) buildFixture(src);
  chmodSync(work, 0o711); // nobody reaches its own store copy and cache below
});

after(() => {
  if (savedImages === undefined) delete process.env.UNDERSTUDY_IMAGES;
  else process.env.UNDERSTUDY_IMAGES = savedImages;
  rmSync(work, { recursive: true, force: true });
});

type Built = Pick<BaseImage, 'rootImg' | 'kernel' | 'cached'>;

/** baseImageFor in this (root) process. */
async function buildAsRoot(map: string): Promise<Built> {
  const objectsBefore = storeState(store);
  const base = await baseImageFor(store, map);
  assert.deepEqual(storeState(store), objectsBefore, 'store objects untouched (content, mode, owner, mtime, links)');
  return base;
}

/** The same map built by nobody from its own copy of the store into its own XDG cache. */
function buildAsNobody(map: string, label: string): Built {
  const own = (p: string) => execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, p]);
  const userStore = join(work, `store-${label}`), cache = join(work, `cache-${label}`);
  execFileSync('cp', ['-a', store, userStore]);
  mkdirSync(cache);
  own(userStore);
  own(cache);
  const objectsBefore = storeState(userStore);
  const out = runTsAsNobody('test/integration/helpers/build-base-image.ts', [userStore, map], { HOME: cache, XDG_CACHE_HOME: cache });
  const { base } = JSON.parse(out) as { base: BaseImage };
  assert.ok(base.rootImg.startsWith(join(cache, 'understudy', 'images') + '/'), 'built in $XDG_CACHE_HOME/understudy/images');
  assert.equal(statSync(base.rootImg).uid, NOBODY, 'the image was written by nobody');
  assert.deepEqual(storeState(userStore), objectsBefore, 'store objects untouched (content, mode, owner, mtime, links)');
  return base;
}

async function buildAndCompare(label: string, build: (map: string) => Built | Promise<Built>): Promise<void> {
  const { map } = await capture({ store, target: `dir:${src}` });
  const { manifest } = await loadMap(store, map);
  const base = await build(map);
  assert.equal(base.cached, false);
  assert.equal(readFileSync(base.kernel, 'utf8'), 'not really a kernel\n');
  execFileSync('e2fsck', ['-fn', base.rootImg], { stdio: 'pipe' }); // throws unless the image is consistent

  const plan = planSandboxEdits(manifest);
  const edited = new Set([...plan.touched, ...plan.mkdirs, 'lost+found']);
  const mnt = join(work, `mnt-${label}`);
  mkdirSync(mnt);
  execFileSync('mount', ['-o', 'loop,ro,noload', base.rootImg, mnt]);
  try {
    const skipContent = () => false;
    const image = snapshot(mnt, { skipContent });
    const source = snapshot(src, { skipContent });
    const keep = (s: Record<string, unknown>) => Object.fromEntries(Object.entries(s).filter(([k]) => !edited.has(k)));
    assert.deepEqual(keep(image), keep(source), `${label}: every path of the map, exact`);
    const dropEdited = (dump: string) => dump.split('\n\n').filter((b) => ![...edited].some((k) => b.startsWith(`# file: ./${k}\n`))).join('\n\n');
    assert.equal(dropEdited(xattrDump(mnt)), dropEdited(xattrDump(src)));
    assert.match(xattrDump(mnt), /security\.capability=0x01000002/);
    assert.match(xattrDump(mnt), /system\.posix_acl_default=/);
    // independent paths with equal content are separate inodes; the hardlink group is one
    const ino = (p: string) => statSync(join(mnt, p)).ino;
    assert.equal(new Set(['dup-1', 'sub/dup-2', 'sub/deeper/dup-3', 'twin-standalone', 'empty', 'empty-2', 'sub/empty-3'].map(ino)).size, 7);
    assert.equal(ino('hard-group-1'), ino('sub/hard-group-2'));
    assert.equal(statSync(join(mnt, 'hard-group-1')).nlink, 2);
    assert.ok(statSync(join(mnt, 'sparse')).blocks * 512 < 1 << 20, 'sparse file stays sparse');
    // the edits: fstab replaced (its mode and owner kept), host key and authorized_keys gone
    assert.match(readFileSync(join(mnt, 'etc/fstab'), 'utf8'), /understudy sandbox/);
    assert.deepEqual([statSync(join(mnt, 'etc/fstab')).mode & 0o7777, statSync(join(mnt, 'etc/fstab')).gid], [0o640, 42]);
    assert.throws(() => lstatSync(join(mnt, 'etc/ssh/ssh_host_ed25519_key')));
    assert.throws(() => lstatSync(join(mnt, 'root/.ssh/authorized_keys')));
    assert.equal(readFileSync(join(mnt, 'etc/machine-id'), 'utf8'), '');
    // what the edits created is root's, whoever built the image
    const inMap = new Set(manifest.entries.map((e) => e.path));
    for (const key of [...plan.mkdirs, ...plan.ops.filter((o) => o.op !== 'remove' && !inMap.has(o.key)).map((o) => o.key)]) {
      const st = lstatSync(join(mnt, key));
      assert.deepEqual([st.uid, st.gid], [0, 0], `/${key} owned by root`);
    }
  } finally {
    execFileSync('umount', [mnt]);
  }
}

test('the base image holds the map exactly (debugfs path)', { skip }, async () => {
  await buildAndCompare('debugfs', buildAsRoot);
});

test('built by an unprivileged user, the base image is just as exact (debugfs path)', { skip }, async () => {
  await buildAndCompare('debugfs-nobody', (map) => buildAsNobody(map, 'debugfs'));
});

test('a name debugfs cannot carry takes the checkout path, just as exact', { skip }, async () => {
  writeFileSync(Buffer.from(join(src, NEWLINE_NAME)), 'newline\n');
  // xattrs and a device node that the checkout tree leaves to debugfs, on paths it cannot name
  execFileSync('setfattr', ['-n', 'security.capability', '-v', '0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=', join(src, NEWLINE_NAME)]);
  execFileSync('setfattr', ['-n', 'user.crlf', '-v', 'set by inode', join(src, NEWLINE_NAME)]);
  mkdirSync(join(src, CR_DIR));
  execFileSync('mknod', [join(src, CR_DIR, 'tty0'), 'c', '4', '64']);
  await buildAndCompare('checkout', buildAsRoot);
});

test('built by an unprivileged user, the checkout path is just as exact', { skip }, async () => {
  await buildAndCompare('checkout-nobody', (map) => buildAsNobody(map, 'checkout'));
});

test('not root, a device node named with a line break -> a clear error, nothing left in the cache', { skip }, async () => {
  const device = join(src, CR_DIR, 'dev\nice');
  execFileSync('mknod', [device, 'b', '7', '1']);
  try {
    const { map } = await capture({ store, target: `dir:${src}` });
    assert.throws(() => buildAsNobody(map, 'refused'), (e: Error & { stderr?: string }) => {
      assert.match(e.stderr ?? '', /needs root for device node\(s\) "\/cr\\rdir\/dev\\nice": .*run rehearse as root/);
      return true;
    });
    assert.deepEqual(readdirSync(join(work, 'cache-refused', 'understudy', 'images')), [], 'no half-built image or stage left');
  } finally {
    unlinkSync(device);
  }
});
