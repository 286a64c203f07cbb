// Test helpers: a hostile fixture tree (built as root with the real tools: setfattr, setfacl, mknod,
// mkfifo), and an independent snapshot of a tree (lstat, readlink, sha256, getfattr) that does not use
// understudy's capture code, so a round trip is checked against the kernel's view, not against itself.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, readFileSync, symlinkSync, writeSync, writeFileSync, ftruncateSync } from 'node:fs';

const B = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s) : Buffer.from(s));
const p = (root: string, ...parts: Buffer[]) => Buffer.concat([B(root), ...parts.flatMap((x) => [B('/'), x])]);

export const TB = 2 ** 40;
/** Data regions written into the 1 TB sparse file (offset -> text). */
export const SPARSE_DATA: Array<[number, string]> = [[0, 'head'], [5 * 2 ** 30, 'middle of nowhere'], [TB - 4096, 'near the end']];

export function buildHostileTree(root: string): void {
  mkdirSync(root, { recursive: true });
  writeFileSync(p(root, B('name with spaces')), 'spaces\n');
  writeFileSync(p(root, B('new\nline')), 'newline\n');
  writeFileSync(p(root, B([0x62, 0x61, 0x64, 0xff, 0xfe, 0x2d, 0x75, 0x74, 0x66])), 'invalid utf-8 name\n');
  writeFileSync(p(root, B('-rf')), 'leading dash\n');
  writeFileSync(p(root, B('--help')), 'leading dashes\n');
  writeFileSync(p(root, B('b64:looks-encoded')), 'prefix clash\n');
  writeFileSync(p(root, B('empty')), '');
  writeFileSync(p(root, B('big-random')), randomBytes(5 * 1024 * 1024 + 17));
  mkdirSync(p(root, B('empty-dir')));
  mkdirSync(p(root, B('etc')));
  writeFileSync(p(root, B('etc'), B('config')), 'key=value\n');
  symlinkSync('/etc/passwd', p(root, B('abs-link')));
  symlinkSync('etc/config', p(root, B('rel-link')));
  symlinkSync('../../nowhere/at/all', p(root, B('dangling')));
  symlinkSync('loop-b', p(root, B('loop-a')));
  symlinkSync('loop-a', p(root, B('loop-b')));
  symlinkSync('etc', p(root, B('dir-link')));
  // > 3000-byte path, far past ustar's 255
  let deep = B('deep');
  mkdirSync(p(root, deep));
  for (let i = 0; i < 13; i++) { deep = Buffer.concat([deep, B('/'), B(String(i).padEnd(240, 'x'))]); mkdirSync(p(root, deep)); }
  writeFileSync(p(root, deep, B('leaf')), 'deep leaf\n');
  // 1 TB sparse file with three small data regions
  const fd = openSync(p(root, B('sparse-1tb')), 'w');
  for (const [off, text] of SPARSE_DATA) writeSync(fd, Buffer.from(text), 0, text.length, off);
  ftruncateSync(fd, TB);
  closeSync(fd);
  // special modes, owners, times
  writeFileSync(p(root, B('setuid')), '#!/bin/sh\n');
  chmodSync(p(root, B('setuid')), 0o4755);
  writeFileSync(p(root, B('setgid')), 'g\n');
  chmodSync(p(root, B('setgid')), 0o2711);
  mkdirSync(p(root, B('sticky')));
  chmodSync(p(root, B('sticky')), 0o1777);
  writeFileSync(p(root, B('owned')), 'owned\n');
  chownSync(p(root, B('owned')), 1234, 5678);
  execFileSync('touch', ['-h', '-d', '@1700000000.123456789', p(root, B('owned')).toString()]);
  execFileSync('touch', ['-h', '-d', '@1600000000.987654321', p(root, B('rel-link')).toString()]);
  // xattrs: file capability (raw value, setcap may be missing), POSIX ACLs, user xattr
  writeFileSync(p(root, B('capable')), 'cap\n');
  execFileSync('setfattr', ['-n', 'security.capability', '-v', '0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=', p(root, B('capable')).toString()]);
  execFileSync('setfacl', ['-m', 'u:1234:rw,g:5678:r', p(root, B('etc'), B('config')).toString()]);
  execFileSync('setfacl', ['-d', '-m', 'u:1234:rwx', p(root, B('etc')).toString()]);
  execFileSync('setfattr', ['-n', 'user.note', '-v', 'hello world', p(root, B('name with spaces')).toString()]);
  // fifo, devices, hardlinks
  execFileSync('mkfifo', [p(root, B('fifo')).toString()]);
  execFileSync('mknod', [p(root, B('null-dev')).toString(), 'c', '1', '3']);
  execFileSync('mknod', [p(root, B('block-dev')).toString(), 'b', '7', '200']);
  writeFileSync(p(root, B('hard-a')), 'hardlinked content\n');
  linkSync(p(root, B('hard-a')), p(root, B('etc'), B('hard-b')));
  linkSync(p(root, B('hard-a')), p(root, B('zz-hard-c')));
}

export interface NodeFacts { type: string; mode: number; uid: number; gid: number; size?: string; mtimeNs?: string; rdev?: string; target?: string; sha256?: string; link?: string }

/** Walks `root` with plain fs calls; hardlinks are named by the first path (sorted) of their inode. */
export function snapshot(root: string, opts: { skipContent?: (rel: string) => boolean } = {}): Record<string, NodeFacts> {
  const out: Record<string, NodeFacts> = {};
  const inodes = new Map<string, string>();
  const walk = (rel: Buffer) => {
    const abs = rel.length ? Buffer.concat([B(root + '/'), rel]) : B(root);
    const st = lstatSync(abs, { bigint: true });
    const key = rel.toString('latin1');
    const f: NodeFacts = { type: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'chardev' : st.isBlockDevice() ? 'blockdev' : 'other',
      mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtimeNs: st.mtimeNs.toString() };
    if (f.type === 'file') {
      f.size = st.size.toString();
      const ino = `${st.dev}:${st.ino}`;
      if (st.nlink > 1n && inodes.has(ino)) f.link = inodes.get(ino);
      else {
        if (st.nlink > 1n) inodes.set(ino, key);
        if (!opts.skipContent?.(key)) f.sha256 = createHash('sha256').update(readFileSync(abs)).digest('hex');
      }
    }
    if (f.type === 'chardev' || f.type === 'blockdev') f.rdev = st.rdev.toString();
    if (f.type === 'symlink') f.target = readlinkSync(abs, { encoding: 'buffer' }).toString('latin1');
    out[key] = f;
    if (f.type === 'dir') for (const n of readdirSync(abs, { encoding: 'buffer' }).sort(Buffer.compare)) walk(rel.length ? Buffer.concat([rel, B('/'), n]) : n);
  };
  walk(Buffer.alloc(0));
  return out;
}

/** All xattrs (incl. security.* and ACLs) of the tree, as getfattr prints them, paths relative. */
export function xattrDump(root: string): string {
  const dump = execFileSync('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', '.'], { cwd: root, maxBuffer: 64 << 20 }).toString('latin1');
  return dump.split('\n\n').map((b) => b.trim()).filter(Boolean).sort().join('\n\n');
}
