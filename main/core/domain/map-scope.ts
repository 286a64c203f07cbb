// Capture scope: which mounts hold the OS. Parses /proc/self/mountinfo text (local or fetched from a
// remote host) and classifies each filesystem; pure so the same rules apply to every target kind.
import type { Exclusion } from './manifest.ts';

export interface Mount {
  /** Absolute mount point, unescaped (\040 -> space ...). */
  mountPoint: string;
  /** Path of the mount's root inside its filesystem ('/' unless a bind mount). */
  root: string;
  fstype: string;
  source: string;
}

export type FsClass = 'real' | Exclude<Exclusion['reason'], 'store' | 'operator' | 'socket' | 'unreadable' | 'other-fs'>;

const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMountInfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    if (dash < 6 || f.length < dash + 3) continue;
    out.push({ root: unescape(f[3]!), mountPoint: unescape(f[4]!), fstype: f[dash + 1]!, source: unescape(f[dash + 2]!) });
  }
  return out;
}

const REAL = new Set(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'f2fs', 'vfat', 'exfat', 'jfs', 'reiserfs', 'zfs', 'bcachefs', 'overlay', 'nilfs2']);
const NETWORK = new Set(['nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', 'ceph', 'glusterfs', '9p', 'afs', 'ncpfs', 'lustre', 'virtiofs']);
const VOLATILE = new Set(['tmpfs', 'ramfs']);

export function classifyFs(fstype: string): FsClass {
  if (REAL.has(fstype)) return 'real';
  if (NETWORK.has(fstype)) return 'network-fs';
  if (fstype === 'fuse' || fstype.startsWith('fuse.') || fstype === 'fuseblk') return 'fuse';
  if (VOLATILE.has(fstype)) return 'volatile';
  return 'pseudo-fs';
}

/** Directories of a whole-host capture whose contents are never part of the OS image (kept as empty dirs). */
export const HOST_VOLATILE_DIRS: Record<string, Exclusion['reason']> = {
  proc: 'pseudo-fs', sys: 'pseudo-fs', dev: 'pseudo-fs', run: 'volatile', tmp: 'volatile',
};

/**
 * Mounts strictly below `root` (absolute) keyed by their path relative to root, with the decision for
 * each: descend into it ('real', not a bind mount) or exclude it with a reason.
 */
export function mountsUnder(mounts: Mount[], root: string): Map<string, { mount: Mount; cls: FsClass | 'other-fs' }> {
  const base = root === '/' ? '' : root.replace(/\/+$/, '');
  const out = new Map<string, { mount: Mount; cls: FsClass | 'other-fs' }>();
  // later lines shadow earlier ones on the same mount point
  for (const m of mounts) {
    if (!m.mountPoint.startsWith(base + '/') || m.mountPoint === base + '/') continue;
    const rel = m.mountPoint.slice(base.length + 1);
    const cls = classifyFs(m.fstype);
    out.set(rel, { mount: m, cls: cls === 'real' && m.root !== '/' ? 'other-fs' : cls });
  }
  return out;
}

/** The mount holding `path` (longest mount point that is a prefix of it). */
export function mountOf(mounts: Mount[], path: string): Mount | undefined {
  let best: Mount | undefined;
  for (const m of mounts) {
    const mp = m.mountPoint === '/' ? '/' : m.mountPoint + '/';
    if ((path + '/').startsWith(mp) || m.mountPoint === '/') {
      if (!best || m.mountPoint.length >= best.mountPoint.length) best = m;
    }
  }
  return best;
}
