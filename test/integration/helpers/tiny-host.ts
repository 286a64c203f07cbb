// A tiny host for rehearsal tests where a Debian boot proves nothing more (pool placement, queues,
// faults): a `dir:` root that boots in seconds under TCG and offers what a rehearsal uses in the sandbox.
//   const root = await tinyHostTree(join(tmp, 'h1'), { marker: 'group-a' })
// The tree: busybox (static) as /bin, this machine's sshd, ssh-keygen, GNU find, GNU tar and dash (/bin/sh) with their
// libraries, Debian's cloud kernel as /boot/vmlinuz-V and a small initramfs as /boot/initrd.img-V that
// loads the virtio modules, mounts /dev/vda and switches to the tree's /sbin/init. That init does what a
// Debian host's boot and the sandbox's seed unit do (sandbox-edits.ts): network (slirp's static address),
// the seed disk's key as root's authorized_keys, fresh host keys, sshd; and the ACPI power button powers
// it off (a clean `releasing`). It has no package manager: rehearse commands like `echo 2 > /etc/x`.
// The template is built once into the image cache (keyed by its content) and copied per host.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { cloudKernelTree, moduleFilesInOrder } from '../../../main/adapters/sandbox/tiny-guest.ts';
import { imageCacheRoot } from '../../../main/adapters/sandbox/disk-build.ts';

const run = promisify(execFile);
const BINARIES = ['/usr/sbin/sshd', '/usr/bin/ssh-keygen', '/usr/bin/find', '/usr/bin/tar', '/usr/bin/dash'];
const INITRD_MODULES = ['virtio_pci', 'virtio_blk', 'virtio_net', 'button', 'evdev'];

const INITRAMFS_INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m; done
for i in $(seq 1 100); do [ -b /dev/vda ] && break; sleep 0.1; done
mkdir -p /newroot && mount -t ext4 -o rw /dev/vda /newroot || { echo 'tiny host: cannot mount /dev/vda'; sleep 5; poweroff -f; }
mount --move /dev /newroot/dev
umount /proc /sys
exec switch_root /newroot /sbin/init
`;

const HOST_INIT = `#!/bin/sh
# tiny host init: what a Debian boot plus the sandbox's seed unit do, in a few lines
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=755 tmpfs /run
hostname -F /etc/hostname
ip link set lo up; ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2
mkdir -p /var/lib/understudy-sandbox/seed /root/.ssh
if mount -o ro /dev/vdb /var/lib/understudy-sandbox/seed 2>/dev/null; then
  cp /var/lib/understudy-sandbox/seed/authorized_keys /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys
  umount /var/lib/understudy-sandbox/seed
  ssh-keygen -A >/dev/null
  touch /var/lib/understudy-sandbox/booted
fi
mkdir -p /run/sshd && chmod 755 /run/sshd
/usr/sbin/sshd -E /var/log/sshd.log
acpid -c /etc/acpi
echo TINY-HOST-UP
while true; do sleep 3600; done
`;

/** ldd's libraries of the binaries, and the dynamic loader. */
async function libraries(binaries: string[]): Promise<string[]> {
  const libs = new Set<string>();
  for (const b of binaries) {
    const { stdout } = await run('ldd', [b]);
    for (const line of stdout.split('\n')) {
      const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
      if (m) libs.add(m[1]!);
    }
  }
  return [...libs];
}

async function copyInto(root: string, file: string, as = file): Promise<void> {
  await mkdir(join(root, dirname(as)), { recursive: true });
  await copyFile(file, join(root, as)); // follows symlinks: the content, under the path the binaries ask for
}

/** The template tree in the image cache (built once; the hosts of a fleet ask for it at the same time). */
let building: Promise<string> | undefined;
const template = (): Promise<string> => {
  building ??= buildTemplate().finally(() => { building = undefined; });
  return building;
};

async function buildTemplate(): Promise<string> {
  const kernelTree = await cloudKernelTree();
  const version = (await run('sh', ['-c', 'ls "$1"/boot | sed -n "s/^vmlinuz-//p" | sort -V | tail -1', 'sh', kernelTree])).stdout.trim();
  const modules = await moduleFilesInOrder(join(kernelTree, 'lib/modules', version), INITRD_MODULES);
  const libs = await libraries(BINARIES);
  const hash = createHash('sha256').update(INITRAMFS_INIT).update(HOST_INIT).update(version);
  for (const f of [...BINARIES, ...libs, ...modules, '/bin/busybox']) hash.update(f).update(await readFile(f));
  const dir = join(imageCacheRoot(), `tiny-host-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(join(dir, 'root', 'sbin', 'init'))) return join(dir, 'root');
  await mkdir(imageCacheRoot(), { recursive: true });
  const stage = await mkdtemp(join(imageCacheRoot(), '.tiny-host-tmp-'));
  try {
    const root = join(stage, 'root');
    for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc/ssh', 'etc/acpi/PWRF', 'root', 'proc', 'sys', 'dev', 'run', 'tmp', 'var/log', 'var/lib', 'boot']) {
      await mkdir(join(root, d), { recursive: true });
    }
    await chmod(join(root, 'tmp'), 0o1777);
    await chmod(join(root, 'root'), 0o700);
    await copyFile('/bin/busybox', join(root, 'bin/busybox'));
    await chmod(join(root, 'bin/busybox'), 0o755);
    // busybox applets as links in /bin (sh, mount, ip, acpid, poweroff ...)
    await run('sh', ['-c', 'cd "$1/bin" && for a in $(./busybox --list); do [ -e "$a" ] || ln -s busybox "$a"; done', 'sh', root]);
    for (const b of BINARIES) await copyInto(root, b);
    // /bin/sh is dash: busybox's sh runs its own applets before PATH, so `find -newerct` (capture2) would
    // reach busybox's find, not GNU find
    await rm(join(root, 'bin/sh'));
    await symlink('/usr/bin/dash', join(root, 'bin/sh'));
    for (const l of libs) await copyInto(root, l);
    await writeFile(join(root, 'sbin/init'), HOST_INIT, { mode: 0o755 });
    await writeFile(join(root, 'etc/acpi/PWRF/00000080'), '#!/bin/sh\nsync\n/bin/poweroff -f\n', { mode: 0o755 });
    await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n');
    await writeFile(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    await writeFile(join(root, 'etc/shadow'), 'root:*:19000:0:99999:7:::\nsshd:*:19000:0:99999:7:::\n', { mode: 0o640 });
    await writeFile(join(root, 'etc/hostname'), 'tiny-host\n');
    await writeFile(join(root, 'etc/ssh/sshd_config'), 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nUsePAM no\n'
      + 'PidFile /run/sshd.pid\nAuthorizedKeysFile .ssh/authorized_keys\n');
    await copyFile(join(kernelTree, 'boot', `vmlinuz-${version}`), join(root, 'boot', `vmlinuz-${version}`));
    // the initramfs: busybox, the virtio modules, an init that switches to the tree's root
    const ir = join(stage, 'initramfs');
    for (const d of ['bin', 'proc', 'sys', 'dev', 'lib/modules']) await mkdir(join(ir, d), { recursive: true });
    await copyFile('/bin/busybox', join(ir, 'bin/busybox'));
    await chmod(join(ir, 'bin/busybox'), 0o755);
    for (const m of modules) await copyFile(m, join(ir, 'lib/modules', m.split('/').pop()!));
    await writeFile(join(ir, 'lib/modules/order'), modules.map((m) => m.split('/').pop()).join('\n') + '\n');
    await writeFile(join(ir, 'init'), INITRAMFS_INIT, { mode: 0o755 });
    await run('sh', ['-c', 'cd "$1" && find . | cpio -o -H newc --quiet | gzip -1 > "$2"', 'sh', ir, join(root, 'boot', `initrd.img-${version}`)]);
    await mkdir(dir, { recursive: true });
    try {
      await rename(root, join(dir, 'root'));
    } catch (e) {
      // another process built the same template first: its tree is as good as ours
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !existsSync(join(dir, 'root', 'sbin', 'init'))) throw e;
    }
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
  return join(dir, 'root');
}

/** A tiny host at `dest` (a fresh copy of the template); `marker` goes to /etc/tiny-host-marker (same marker, same content). */
export async function tinyHostTree(dest: string, o: { marker?: string } = {}): Promise<string> {
  const t = await template();
  await rm(dest, { recursive: true, force: true });
  await mkdir(dirname(dest), { recursive: true });
  await run('cp', ['-a', t, dest]);
  if (o.marker !== undefined) {
    // hosts with the same marker have the same content, times included (one map content id)
    const etc = await stat(join(t, 'etc'));
    await writeFile(join(dest, 'etc/tiny-host-marker'), o.marker + '\n');
    await utimes(join(dest, 'etc/tiny-host-marker'), etc.atime, etc.mtime);
    await utimes(join(dest, 'etc'), etc.atime, etc.mtime);
  }
  return dest;
}
