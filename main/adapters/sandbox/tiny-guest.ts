// A tiny busybox guest for hypervisor contract tests and benchmarks: boots in seconds under TCG, unlike a
// full Debian. Its /init (PID 1) loads the virtio and power-button modules of the kernel it boots with,
// configures slirp's static address, then prints, on the serial console:
//   TINY-DISK:<names of virtio disks>   TINY-READY   TINY-GUESTFWD:<reply of 10.0.2.100:80 to "ping">
// listens on port 22 (answers TINY-HOSTFWD-OK per connection) and powers off on the ACPI power button.
//   const g = await buildTinyGuest({ kernel, modulesDir })   -> { kernel, initrd, cmdline }
// The initrd is cached under the image cache keyed by a hash of the script, busybox and the modules.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { UnderstudyError } from '../../core/domain/errors.ts';

const run = promisify(execFile);

/** Modules the guest needs from a modular (Debian cloud) kernel; their dependencies are added. */
const WANTED = ['virtio_pci', 'virtio_net', 'virtio_blk', 'button', 'evdev'];
const BUSYBOX = '/bin/busybox';

const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m; done
ip link set lo up; ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2
acpid -d -c /etc/acpi 2>/dev/null &
(while true; do echo TINY-HOSTFWD-OK | nc -l -p 22; done) &
echo "TINY-DISK:$(cd /sys/block && echo vd*)"
echo TINY-READY
echo "TINY-GUESTFWD:$(echo ping | nc -w 10 10.0.2.100 80)"
while true; do sleep 3600; done
`;

export interface TinyGuest { kernel: string; initrd: string; cmdline: string }

/** Reads `depends=` from a module's .modinfo section (no kmod needed on the host). */
export function moduleDepends(ko: Buffer): string[] {
  const at = ko.indexOf(Buffer.from('\0depends='));
  if (at < 0) return [];
  const end = ko.indexOf(0, at + 1);
  return ko.subarray(at + 9, end).toString().split(',').filter(Boolean);
}

async function indexModules(dir: string, out = new Map<string, string>()): Promise<Map<string, string>> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await indexModules(p, out);
    else if (e.name.endsWith('.ko')) out.set(e.name.slice(0, -3).replace(/-/g, '_'), p);
  }
  return out;
}

/** Module files in load order (dependencies first). Missing ones are assumed built in. */
export async function moduleFilesInOrder(modulesDir: string, wanted: readonly string[] = WANTED): Promise<string[]> {
  const index = await indexModules(modulesDir);
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = async (name: string): Promise<void> => {
    const key = name.replace(/-/g, '_');
    if (seen.has(key)) return;
    seen.add(key);
    const file = index.get(key);
    if (!file) return;
    for (const dep of moduleDepends(await readFile(file))) await visit(dep);
    order.push(file);
  };
  for (const m of wanted) await visit(m);
  return order;
}

function cacheRoot(): string {
  return process.env.UNDERSTUDY_IMAGES ?? join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'understudy', 'images');
}

export async function buildTinyGuest(o: { kernel: string; modulesDir: string }): Promise<TinyGuest> {
  const cmdline = 'console=ttyS0 quiet panic=-1';
  for (const p of [o.kernel, o.modulesDir, BUSYBOX]) {
    if (!existsSync(p)) throw new UnderstudyError('io', `tiny guest: ${p} is missing (busybox-static and a kernel with its modules are needed)`);
  }
  const modules = await moduleFilesInOrder(o.modulesDir);
  const hash = createHash('sha256').update(INIT).update(await readFile(BUSYBOX));
  for (const m of modules) hash.update(m).update(await readFile(m));
  const dir = join(cacheRoot(), `tiny-guest-${hash.digest('hex').slice(0, 16)}`);
  const initrd = join(dir, 'initrd.cpio.gz');
  if (existsSync(initrd)) return { kernel: o.kernel, initrd, cmdline };

  // Staged next to the cache entry so the final rename is atomic (same filesystem).
  await mkdir(cacheRoot(), { recursive: true });
  const stage = await mkdtemp(join(cacheRoot(), '.tiny-guest-tmp-'));
  try {
    const root = join(stage, 'root');
    for (const d of ['bin', 'proc', 'sys', 'dev', 'lib/modules', 'etc/acpi/PWRF']) await mkdir(join(root, d), { recursive: true });
    await copyFile(BUSYBOX, join(root, 'bin/busybox'));
    await chmod(join(root, 'bin/busybox'), 0o755);
    for (const m of modules) await copyFile(m, join(root, 'lib/modules', basename(m)));
    await writeFile(join(root, 'lib/modules/order'), modules.map((m) => basename(m)).join('\n') + '\n');
    // busybox acpid runs ./PWRF/00000080 (relative to -c DIR) on the power button.
    await writeFile(join(root, 'etc/acpi/PWRF/00000080'), '#!/bin/busybox sh\n/bin/busybox poweroff -f\n', { mode: 0o755 });
    await writeFile(join(root, 'init'), INIT, { mode: 0o755 });
    const out = join(stage, 'initrd.cpio.gz');
    await run('sh', ['-c', 'cd "$1" && find . | cpio -o -H newc --quiet | gzip -1 > "$2"', 'sh', root, out]);
    await mkdir(dir, { recursive: true });
    await rename(out, initrd);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
  return { kernel: o.kernel, initrd, cmdline };
}

/** The tiny guest built from a root tree's newest /boot/vmlinuz-VERSION and its /lib/modules/VERSION. */
export async function tinyGuestFromTree(tree: string): Promise<TinyGuest> {
  const versions = (await readdir(join(tree, 'boot'))).filter((n) => n.startsWith('vmlinuz-')).map((n) => n.slice(8))
    .filter((v) => existsSync(join(tree, 'lib/modules', v))).sort(compareVersions);
  const v = versions.pop();
  if (!v) throw new UnderstudyError('no-kernel', `tiny guest: ${tree}/boot has no vmlinuz-VERSION with /lib/modules/VERSION`);
  return buildTinyGuest({ kernel: join(tree, 'boot', `vmlinuz-${v}`), modulesDir: join(tree, 'lib/modules', v) });
}

/** Orders kernel versions like dpkg roughly does for them: numeric runs compared as numbers. */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/**
 * A Debian cloud kernel unpacked into the image cache (images/cloud-kernel-VERSION/), downloaded with
 * `apt-get download` the first time: the tiny guest does not wait for the demo host image to be built.
 */
export async function cloudKernelTree(): Promise<string> {
  let pkg: string;
  try {
    const { stdout } = await run('apt-cache', ['depends', '--no-recommends', '--no-suggests', 'linux-image-cloud-amd64']);
    pkg = stdout.match(/Depends:\s*(linux-image-\S+-cloud-amd64)/)?.[1] ?? '';
  } catch { pkg = ''; }
  if (!pkg) throw new UnderstudyError('io', 'tiny guest: apt-cache knows no linux-image-cloud-amd64 (run apt-get update)');
  const tree = join(cacheRoot(), `cloud-kernel-${pkg.slice('linux-image-'.length)}`);
  if (existsSync(join(tree, 'boot'))) return tree;
  await mkdir(cacheRoot(), { recursive: true });
  const stage = await mkdtemp(join(cacheRoot(), '.cloud-kernel-tmp-'));
  try {
    await run('apt-get', ['download', '-q', pkg], { cwd: stage });
    const deb = (await readdir(stage)).find((n) => n.endsWith('.deb'));
    if (!deb) throw new UnderstudyError('io', `tiny guest: apt-get download ${pkg} produced no .deb`);
    await run('dpkg-deb', ['-x', join(stage, deb), join(stage, 'tree')]);
    await rename(join(stage, 'tree'), tree);
  } catch (e) {
    throw new UnderstudyError('io', `tiny guest: could not fetch ${pkg}: ${(e as { stderr?: string }).stderr ?? (e as Error).message}`);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
  return tree;
}
