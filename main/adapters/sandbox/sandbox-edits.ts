// Sandbox-only edits. THE RULE: whatever understudy changes in the sandbox copy so that it boots and lets
// us in (fstab/crypttab for one merged virtio disk, the per-run SSH key, regenerated host keys, a DHCP
// network config, a blank machine-id, the seed unit that installs the key) — and what merely booting
// a machine rewrites (logs, systemd state, random seeds, temp dirs) — is NEVER part of the delta and so
// never reaches the host. SANDBOX_ONLY_PATTERNS is that list; isSandboxOnly() applies it to map paths.
// Edits happen in the disposable tree the base image is built from: the store and the host are untouched.
// That tree's files may be hardlinks to store objects (image-tree.ts), so a file is never written in
// place: it is unlinked and created anew (keeping its mode and owner).
import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, rm, symlink, unlink, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UnderstudyError } from '../../core/domain/errors.ts';

/** Path keys (no leading '/'); a trailing '/**' covers everything below; '*' matches within one name. */
export const SANDBOX_ONLY_PATTERNS: readonly string[] = [
  'etc/fstab',
  'etc/crypttab',
  'etc/machine-id',
  'var/lib/dbus/machine-id',
  'etc/ssh/ssh_host_*',
  'root/.ssh/authorized_keys',
  'etc/systemd/network/99-understudy-sandbox.network',
  'etc/systemd/system/understudy-seed.service',
  'etc/systemd/system/multi-user.target.wants/understudy-seed.service',
  'etc/systemd/system/multi-user.target.wants/systemd-networkd.service',
  'etc/systemd/system/multi-user.target.wants/ssh.service',
  'etc/systemd/system/sshd.service',
  'var/lib/understudy-sandbox/**',
  'var/log/**',
  'var/lib/systemd/**',
  'var/tmp/**',
  'tmp/**',
  'run/**',
  'root/.bash_history',
  'root/.lesshst',
  'lost+found',
];

const toRegExp = (p: string): RegExp => new RegExp('^' + p.split('/**')[0]!
  .replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*') + (p.endsWith('/**') ? '(/.*)?$' : '$'));
const COMPILED = SANDBOX_ONLY_PATTERNS.map(toRegExp);

export function isSandboxOnly(key: string): boolean {
  return COMPILED.some((r) => r.test(key));
}

/** Inside the guest: the seed disk's mount point and the marker written when the sandbox first boots. */
export const SEED_DEVICE = '/dev/vdb';
export const MARKER = '/var/lib/understudy-sandbox/booted';

const SEED_UNIT = `[Unit]
Description=understudy sandbox seed (per-run SSH key, fresh host keys); exists in the sandbox copy only
DefaultDependencies=no
After=local-fs.target
Before=ssh.service sshd.service
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'set -e; mkdir -p /var/lib/understudy-sandbox/seed /root/.ssh; mount -o ro ${SEED_DEVICE} /var/lib/understudy-sandbox/seed; install -m 0600 /var/lib/understudy-sandbox/seed/authorized_keys /root/.ssh/authorized_keys; umount /var/lib/understudy-sandbox/seed; ssh-keygen -A; touch ${MARKER}'
[Install]
WantedBy=multi-user.target
`;

const NETWORK = '[Match]\nName=e*\n\n[Network]\nDHCP=yes\n';

/** The edits' record: path keys written or removed (the image keeps mkfs' metadata for these). */
type Touched = Set<string>;

/**
 * tree/dirKey as a real directory, created if missing. A symlink on the way (a map's /etc -> /elsewhere)
 * is refused: following it would edit this machine instead of the sandbox copy.
 */
async function realDir(tree: string, dirKey: string): Promise<string>;
async function realDir(tree: string, dirKey: string, create: false): Promise<string | undefined>;
async function realDir(tree: string, dirKey: string, create = true): Promise<string | undefined> {
  let path = tree;
  for (const part of dirKey.split('/')) {
    path = join(path, part);
    const st = await lstat(path).catch(() => undefined);
    if (!st && !create) return undefined;
    if (!st) await mkdir(path, { mode: 0o755 });
    else if (!st.isDirectory()) throw new UnderstudyError('usage', `sandbox edits: /${dirKey} of the map is not a directory (a symlink?); cannot prepare the sandbox`);
  }
  return path;
}

/** Replaces the file at tree/key by a new inode (never writes through a hardlink), same mode and owner. */
async function replaceFile(tree: string, key: string, content: string, touched: Touched): Promise<void> {
  const path = join(await realDir(tree, key.slice(0, key.lastIndexOf('/'))), key.slice(key.lastIndexOf('/') + 1));
  const old = await lstat(path).catch(() => undefined);
  await rm(path, { force: true });
  await writeFile(path, content, { flag: 'wx', mode: 0o644 });
  if (old?.isFile()) {
    await chown(path, old.uid, old.gid).catch(() => undefined); // not root: the owner is ours anyway
    await chmod(path, old.mode & 0o7777);
  }
  touched.add(key);
}

async function enable(tree: string, unit: string, target: string, touched: Touched): Promise<void> {
  const wants = 'etc/systemd/system/multi-user.target.wants';
  const link = join(await realDir(tree, wants), unit);
  if (!(await lstat(link).catch(() => undefined))) { await symlink(target, link); touched.add(`${wants}/${unit}`); }
}

function unitPath(tree: string, unit: string): string | undefined {
  for (const d of ['lib/systemd/system', 'usr/lib/systemd/system']) if (existsSync(join(tree, d, unit))) return `/${d}/${unit}`;
  return undefined;
}

/**
 * Applies the sandbox-only edits to a checked-out tree (the disposable copy the base image is made
 * from); returns the path keys it wrote or removed.
 */
export async function applySandboxEdits(tree: string): Promise<Set<string>> {
  const touched: Touched = new Set();
  // One merged root disk: whatever filesystems the host had (/boot apart ...) live in it now.
  await replaceFile(tree, 'etc/fstab', '# understudy sandbox: one merged root disk\n/dev/vda / ext4 rw,errors=remount-ro 0 1\n', touched);
  if (await lstat(join(tree, 'etc/crypttab')).catch(() => undefined)) await replaceFile(tree, 'etc/crypttab', '', touched);
  await replaceFile(tree, 'etc/machine-id', '', touched);
  const ssh = await realDir(tree, 'etc/ssh', false);
  if (ssh) for (const n of await readdir(ssh)) {
    if (n.startsWith('ssh_host_')) { await unlink(join(ssh, n)); touched.add(`etc/ssh/${n}`); }
  }
  await replaceFile(tree, 'etc/systemd/network/99-understudy-sandbox.network', NETWORK, touched);
  await replaceFile(tree, 'etc/systemd/system/understudy-seed.service', SEED_UNIT, touched);
  await enable(tree, 'understudy-seed.service', '/etc/systemd/system/understudy-seed.service', touched);
  const networkd = unitPath(tree, 'systemd-networkd.service');
  if (networkd) await enable(tree, 'systemd-networkd.service', networkd, touched);
  const sshd = unitPath(tree, 'ssh.service');
  if (sshd) await enable(tree, 'ssh.service', sshd, touched);
  const dotSsh = await realDir(tree, 'root/.ssh', false);
  const keys = dotSsh && join(dotSsh, 'authorized_keys');
  if (keys && await lstat(keys).catch(() => undefined)) { await rm(keys, { force: true }); touched.add('root/.ssh/authorized_keys'); }
  return touched;
}
