// Sandbox-only paths. Two kinds, never confused (see docs, "Sandbox-only paths"):
// - EDITED_PATHS: what understudy changes in the sandbox's copy so that it boots and lets us in (fstab
//   for one merged virtio disk, the per-run SSH key, fresh host keys, a blank machine-id, a DHCP network
//   unit, the seed unit). The sandbox's own version of each, recorded after boot and before the upgrade
//   (sandbox-base.ts), is the base of a 3-way decision at capture2 (effective-map2.ts): a path the upgrade
//   left alone keeps the host's version; the upgrade's change to it is merged into the host's version,
//   or brought to the operator. Identity paths (host keys, machine-id) are never applied unless chosen.
// - RUNTIME_STATE: what merely running a machine rewrites (logs, the journal, random seed, timer stamps,
//   temp dirs). The host keeps its own; the swap never applies the sandbox's.
// Everything else, package state under /var/lib included, is the upgrade's effect and part of the delta.
// Units the sandbox needs running (seed, sshd, networkd) are pulled in by the kernel command line
// (systemd.wants=), not by enablement symlinks, so an upgrade that enables one of them keeps that change.
// The edits are planned from the map alone (planSandboxEdits) and then carried out either in the
// image's debugfs script (debugfs-populate.ts) or in a checked-out tree (applyEditsToTree), never on the
// store or the host. A tree's files may be hardlinks to store objects (image-tree.ts), so a file is
// never written in place there: it is unlinked and created anew (keeping its mode and owner).
import { chmod, chown, lstat, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { Entry, Manifest } from '../../core/domain/manifest.ts';
import { APT_PROXY_CONF, APT_PROXY_CONF_KEY } from '../proxy/guest-forward.ts';

/** A path pattern (no leading '/'; a trailing '/**' covers everything below; '*' matches within one name) and why. */
export interface PathRule { pattern: string; why: string; identity?: true }

/** What understudy edits in the sandbox so that it boots and lets us in. */
export const EDITED_PATHS: readonly PathRule[] = [
  { pattern: 'etc/fstab', why: 'rewritten for the sandbox\'s one merged virtio disk' },
  { pattern: 'etc/crypttab', why: 'emptied: the sandbox disk holds the plain filesystems' },
  { pattern: 'etc/machine-id', why: 'blanked: the sandbox makes its own machine id at boot', identity: true },
  { pattern: 'var/lib/dbus/machine-id', why: 'D-Bus\'s copy of the machine id', identity: true },
  { pattern: 'etc/ssh/ssh_host_*', why: 'removed from the disk (the sandbox never holds the host\'s private keys); the seed unit makes new ones', identity: true },
  { pattern: 'root/.ssh/authorized_keys', why: 'replaced by the per-run key the seed unit installs; who may log in as root: a change is never merged unasked' },
  { pattern: 'etc/systemd/network/99-understudy-sandbox.network', why: 'DHCP on the sandbox\'s network card' },
  { pattern: 'etc/systemd/system/understudy-seed.service', why: 'the seed unit: installs the per-run key, makes host keys' },
  { pattern: APT_PROXY_CONF_KEY, why: 'apt goes through understudy\'s repository proxy, the sandbox\'s only way out' },
  { pattern: 'var/lib/understudy-sandbox/**', why: 'the seed unit\'s mount point and boot marker' },
  { pattern: 'lost+found', why: 'made by mkfs.ext4 in the sandbox disk' },
];

/** What running a machine rewrites by itself: the host keeps its own, the sandbox's never lands. */
export const RUNTIME_STATE: readonly PathRule[] = [
  { pattern: 'var/log/**', why: 'logs and the journal: every machine writes its own (apt\'s and dpkg\'s logs of the sandbox too)' },
  { pattern: 'var/lib/systemd/random-seed', why: 'the kernel\'s random pool, saved at boot and shutdown' },
  { pattern: 'var/lib/systemd/timers/**', why: 'last-run stamps of persistent timers' },
  { pattern: 'var/lib/systemd/timesync/**', why: 'timesyncd\'s clock file, touched at every sync' },
  { pattern: 'var/lib/systemd/coredump/**', why: 'core dumps of processes that crashed in the sandbox' },
  { pattern: 'var/lib/systemd/pstore/**', why: 'kernel crash records collected at boot' },
  { pattern: 'var/lib/systemd/backlight/**', why: 'screen brightness, saved at shutdown' },
  { pattern: 'var/lib/systemd/rfkill/**', why: 'radio switch states, saved at shutdown' },
  { pattern: 'var/lib/dhcp/**', why: 'DHCP leases on the sandbox\'s own network' },
  { pattern: 'etc/.updated', why: 'systemd-update-done\'s stamp: the host\'s own boot writes it after /usr changed' },
  { pattern: 'var/.updated', why: 'the same stamp for /var' },
  { pattern: 'var/cache/ldconfig/aux-cache', why: 'ldconfig\'s cache of library file ids, rewritten by every ldconfig run (the host\'s own at boot after /usr changed); an entry is used only while its file\'s inode, size and ctime still match' },
  { pattern: 'var/tmp/**', why: 'temporary files' },
  { pattern: 'tmp/**', why: 'temporary files (a tmpfs on most hosts, never captured)' },
  { pattern: 'run/**', why: 'runtime state (a tmpfs, never captured)' },
  { pattern: 'dev/**', why: 'devices (devtmpfs, mounted at boot): a capture of a running host sees the mount, not the disk' },
  { pattern: 'proc/**', why: 'the kernel\'s process filesystem, mounted at boot' },
  { pattern: 'sys/**', why: 'the kernel\'s sysfs, mounted at boot' },
];

const toRegExp = (p: string): RegExp => new RegExp('^' + p.split('/**')[0]!
  .replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*') + (p.endsWith('/**') ? '(/.*)?$' : '$'));
const matcher = (rules: readonly PathRule[]) => { const r = rules.map((x) => toRegExp(x.pattern)); return (key: string) => r.some((x) => x.test(key)); };

/** A path understudy edits in the sandbox (see EDITED_PATHS). */
export const isEdited = matcher(EDITED_PATHS);
/** Host keys and machine ids: an upgrade's change to them is reported, and applied only when chosen. */
export const isIdentity = matcher(EDITED_PATHS.filter((r) => r.identity));
/** State a running machine rewrites by itself (see RUNTIME_STATE). */
export const isRuntimeState = matcher(RUNTIME_STATE);
/** Either kind: the sandbox's version never lands as it is (an edited path's change is decided at capture2). */
export const isSandboxOnly = (key: string): boolean => isEdited(key) || isRuntimeState(key);
/** Paths whose every change the operator decides: never merged automatically, even when clean. */
export const ASKS_OPERATOR = new Set(['root/.ssh/authorized_keys']);

/** Inside the guest: the seed disk's mount point and the marker written when the sandbox first boots. */
export const SEED_DEVICE = '/dev/vdb';
export const MARKER = '/var/lib/understudy-sandbox/booted';

// Pulled in by the kernel command line (systemd.wants=), so no enablement symlink is edited. On a second
// boot of the same disk (a reboot rehearsal) it changes nothing the first boot or the upgrade wrote: the key
// is appended only when missing (an upgrade's own change to authorized_keys stays), ssh-keygen -A makes
// only missing host keys.
const SEED_UNIT = `[Unit]
Description=understudy sandbox seed (per-run SSH key, fresh host keys); exists in the sandbox copy only
DefaultDependencies=no
After=local-fs.target
Before=ssh.service sshd.service
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'set -e; S=/var/lib/understudy-sandbox/seed; mkdir -p $$S; mkdir -p -m 0700 /root/.ssh; mount -o ro ${SEED_DEVICE} $$S; grep -qxF -f $$S/authorized_keys /root/.ssh/authorized_keys 2>/dev/null || (umask 077 && cat $$S/authorized_keys >> /root/.ssh/authorized_keys); umount $$S; ssh-keygen -A; touch ${MARKER}'
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

/** The sandbox-only edits for a map. Throws when a directory they need is not a directory in the map. */
export function planSandboxEdits(m: Manifest): EditPlan {
  const byPath = new Map<string, Entry>(m.entries.map((e) => [e.path, e]));
  const has = (key: string) => byPath.has(key);
  const ops: EditOp[] = [];
  const write = (key: string, content: string) => ops.push({ op: 'write', key, content });
  // One merged root disk: whatever filesystems the host had (/boot apart ...) live in it now.
  write('etc/fstab', '# understudy sandbox: one merged root disk\n/dev/vda / ext4 rw,errors=remount-ro 0 1\n');
  if (has('etc/crypttab')) write('etc/crypttab', '');
  write('etc/machine-id', '');
  for (const e of m.entries) if (/^etc\/ssh\/ssh_host_[^/]*$/.test(e.path)) ops.push({ op: 'remove', key: e.path });
  write('etc/systemd/network/99-understudy-sandbox.network', NETWORK);
  write('etc/systemd/system/understudy-seed.service', SEED_UNIT);
  // only where apt is: a directory made for it would be a new path in map2
  if (byPath.get('etc/apt/apt.conf.d')?.type === 'dir') write(APT_PROXY_CONF_KEY, APT_PROXY_CONF);
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

/**
 * Kernel arguments every boot of a sandbox gets (disk-build.ts SANDBOX_CMDLINE). systemd.wants= starts the
 * units it needs without an enablement symlink in its /etc: the seed unit, networkd, sshd (under either
 * name; one the map lacks is only a warning in the journal). systemd.mask=timers.target: no periodic job
 * (apt-daily, man-db, logrotate, dpkg-db-backup ...) runs in the sandbox, since what one writes would pass
 * as the upgrade's effect; a timer the upgrade itself starts still runs.
 */
export const SANDBOX_UNIT_ARGS = ['understudy-seed.service', 'systemd-networkd.service', 'ssh.service', 'sshd.service']
  .map((u) => `systemd.wants=${u}`).concat('systemd.mask=timers.target').join(' ');

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
