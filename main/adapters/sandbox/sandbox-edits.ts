// Sandbox-only edits. THE RULE: whatever understudy changes in the sandbox copy so that it boots and lets
// us in (fstab/crypttab for one merged virtio disk, the per-run SSH key, regenerated host keys, a DHCP
// network config, a blank machine-id, the seed unit that installs the key) — and what merely booting
// a machine rewrites (logs, systemd state, random seeds, temp dirs) — is NEVER part of the delta and so
// never reaches the host. SANDBOX_ONLY_PATTERNS is that list; isSandboxOnly() applies it to map paths.
// Edits happen in the disposable tree the base image is built from: the store and the host are untouched.
import { existsSync } from 'node:fs';
import { mkdir, rm, symlink, unlink, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

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

async function enable(tree: string, unit: string, target: string): Promise<void> {
  const wants = join(tree, 'etc/systemd/system/multi-user.target.wants');
  await mkdir(wants, { recursive: true });
  const link = join(wants, unit);
  if (!existsSync(link)) await symlink(target, link).catch(() => undefined);
}

function unitPath(tree: string, unit: string): string | undefined {
  for (const d of ['lib/systemd/system', 'usr/lib/systemd/system']) if (existsSync(join(tree, d, unit))) return `/${d}/${unit}`;
  return undefined;
}

/** Applies the sandbox-only edits to a restored tree (the disposable copy the base image is made from). */
export async function applySandboxEdits(tree: string): Promise<void> {
  // One merged root disk: whatever filesystems the host had (/boot apart ...) live in it now.
  await writeFile(join(tree, 'etc/fstab'), '# understudy sandbox: one merged root disk\n/dev/vda / ext4 rw,errors=remount-ro 0 1\n');
  if (existsSync(join(tree, 'etc/crypttab'))) await writeFile(join(tree, 'etc/crypttab'), '');
  await writeFile(join(tree, 'etc/machine-id'), '');
  for (const n of await readdir(join(tree, 'etc/ssh')).catch(() => [] as string[])) {
    if (n.startsWith('ssh_host_')) await unlink(join(tree, 'etc/ssh', n));
  }
  await mkdir(join(tree, 'etc/systemd/network'), { recursive: true });
  await writeFile(join(tree, 'etc/systemd/network/99-understudy-sandbox.network'), NETWORK);
  await writeFile(join(tree, 'etc/systemd/system/understudy-seed.service'), SEED_UNIT);
  await enable(tree, 'understudy-seed.service', '/etc/systemd/system/understudy-seed.service');
  const networkd = unitPath(tree, 'systemd-networkd.service');
  if (networkd) await enable(tree, 'systemd-networkd.service', networkd);
  const ssh = unitPath(tree, 'ssh.service');
  if (ssh) await enable(tree, 'ssh.service', ssh);
  await rm(join(tree, 'root/.ssh/authorized_keys'), { force: true });
}
