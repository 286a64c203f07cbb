// Sandbox-only edits. THE RULE: whatever understudy changes in the sandbox copy so that it boots and lets
// us in (fstab/crypttab for one merged virtio disk, the per-run SSH key, regenerated host keys, a DHCP
// network config, a blank machine-id, the seed unit that installs the key) — and what merely booting
// a machine rewrites (logs, systemd state, random seeds, temp dirs) — is NEVER part of the delta and so
// never reaches the host. SANDBOX_ONLY_PATTERNS is that list; isSandboxOnly() applies it to map paths.
// The edits are planned from the map alone (planSandboxEdits) and then carried out either in the
// image's debugfs script (debugfs-populate.ts) or in a checked-out tree (applyEditsToTree), never on the
// store or the host. A tree's files may be hardlinks to store objects (image-tree.ts), so a file is
// never written in place there: it is unlinked and created anew (keeping its mode and owner).
import { chmod, chown, lstat, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { Entry, Manifest } from '../../core/domain/manifest.ts';
import { APT_PROXY_CONF, APT_PROXY_CONF_KEY } from '../proxy/guest-forward.ts';

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
  // apt goes through understudy's repository proxy, the sandbox's only way out (adapters/proxy/guest-forward.ts)
  APT_PROXY_CONF_KEY,
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

export type EditOp =
  | { op: 'write'; key: string; content: string }
  | { op: 'remove'; key: string }
  | { op: 'symlink'; key: string; target: string };

export interface EditPlan {
  ops: EditOp[];
  /** Directories the ops need that the map lacks, parents first. */
  mkdirs: string[];
  /** Every path key written or removed (the image keeps those out of the map's metadata stamping). */
  touched: Set<string>;
}

const WANTS = 'etc/systemd/system/multi-user.target.wants';

/** The sandbox-only edits for a map. Throws when a directory they need is not a directory in the map. */
export function planSandboxEdits(m: Manifest): EditPlan {
  const byPath = new Map<string, Entry>(m.entries.map((e) => [e.path, e]));
  const has = (key: string) => byPath.has(key);
  // Debian's merged /usr: /lib -> usr/lib.
  const libLink = byPath.get('lib')?.type === 'symlink' && /^\/?usr\/lib\/?$/.test(byPath.get('lib')!.target!);
  const unitPath = (unit: string) => ['lib/systemd/system', 'usr/lib/systemd/system']
    .find((d) => has(`${d}/${unit}`) || (libLink && d.startsWith('lib/') && has(`usr/${d}/${unit}`)));
  const ops: EditOp[] = [];
  const write = (key: string, content: string) => ops.push({ op: 'write', key, content });
  const enable = (unit: string, target: string) => { if (!has(`${WANTS}/${unit}`)) ops.push({ op: 'symlink', key: `${WANTS}/${unit}`, target }); };
  // One merged root disk: whatever filesystems the host had (/boot apart ...) live in it now.
  write('etc/fstab', '# understudy sandbox: one merged root disk\n/dev/vda / ext4 rw,errors=remount-ro 0 1\n');
  if (has('etc/crypttab')) write('etc/crypttab', '');
  write('etc/machine-id', '');
  for (const e of m.entries) if (/^etc\/ssh\/ssh_host_[^/]*$/.test(e.path)) ops.push({ op: 'remove', key: e.path });
  write('etc/systemd/network/99-understudy-sandbox.network', NETWORK);
  write('etc/systemd/system/understudy-seed.service', SEED_UNIT);
  // only where apt is: a directory made for it would be a new path in map2
  if (byPath.get('etc/apt/apt.conf.d')?.type === 'dir') write(APT_PROXY_CONF_KEY, APT_PROXY_CONF);
  enable('understudy-seed.service', '/etc/systemd/system/understudy-seed.service');
  const networkd = unitPath('systemd-networkd.service');
  if (networkd) enable('systemd-networkd.service', `/${networkd}/systemd-networkd.service`);
  const sshd = unitPath('ssh.service');
  if (sshd) enable('ssh.service', `/${sshd}/ssh.service`);
  if (has('root/.ssh/authorized_keys')) ops.push({ op: 'remove', key: 'root/.ssh/authorized_keys' });

  const mkdirs: string[] = [];
  for (const o of ops) {
    const parts = o.key.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      const e = byPath.get(dir);
      // A symlink on the way (a map's /etc -> /elsewhere) would take the edit somewhere else.
      if (e && e.type !== 'dir') throw new UnderstudyError('usage', `sandbox edits: /${dir} of the map is not a directory (a ${e.type}); cannot prepare the sandbox`);
      if (!e && !mkdirs.includes(dir)) mkdirs.push(dir);
    }
  }
  for (const o of ops) {
    const e = byPath.get(o.key);
    if (e?.type === 'dir') throw new UnderstudyError('usage', `sandbox edits: /${o.key} of the map is a directory; cannot prepare the sandbox`);
  }
  return { ops, mkdirs, touched: new Set(ops.map((o) => o.key)) };
}

/** Carries a plan out in a checked-out or restored tree of the same map. */
export async function applyEditsToTree(tree: string, plan: EditPlan): Promise<void> {
  for (const d of plan.mkdirs) await mkdir(join(tree, d), { mode: 0o755 });
  for (const o of plan.ops) {
    const path = join(tree, o.key);
    const old = await lstat(path).catch(() => undefined);
    await rm(path, { force: true });
    if (o.op === 'symlink') await symlink(o.target, path);
    if (o.op !== 'write') continue;
    await writeFile(path, o.content, { flag: 'wx', mode: 0o644 });
    if (old?.isFile()) { // the same mode and owner as the map's file
      await chown(path, old.uid, old.gid).catch(() => undefined); // not root: the owner is ours anyway
      await chmod(path, old.mode & 0o7777);
    }
  }
}
