// The parts of a restore Node has no API for, done in batches by standard tools: device nodes and
// fifos (mknod/mkfifo, names passed as raw bytes through xargs -0), xattrs
// (`setfattr -h --restore`, never following symlinks), and nanosecond mtimes (`touch -h -d @S.N`, since
// Node's utimes rounds to microseconds).
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { lstat } from 'node:fs/promises';
import { bytesFromKey } from '../../core/domain/path-key.ts';
import type { Entry } from '../../core/domain/manifest.ts';
import { parseGetfattrDump, quoteGetfattr } from '../capture/xattr-reader.ts';

const execFileP = promisify(execFile);

export function runTool(cmd: string, args: string[], cwd: string, stdin?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} failed (exit ${code}): ${err.trim().slice(0, 500)}`))));
    child.stdin.on('error', () => undefined); // surfaced through the exit code
    child.stdin.end(stdin ?? '');
  });
}

export const relArg = (key: string): Buffer => (key === '' ? Buffer.from('.') : Buffer.concat([Buffer.from('./'), Buffer.from(bytesFromKey(key))]));

/**
 * Creates fifos and device nodes at their own paths under `dir` (mode 600; the caller sets mode and owner).
 * Names go to the tools as NUL-separated argv through xargs, never through shell text, and straight to
 * their final place: a temp name beside them could be a name the map itself holds. mknod never follows
 * a symlink in the last component. Returns the entries that could not be made (devices need root).
 */
export async function makeSpecialNodes(dir: string, entries: Entry[]): Promise<Entry[]> {
  if (!entries.length) return [];
  const args: Buffer[] = [];
  for (const e of entries) {
    const kind = e.type === 'fifo' ? 'p' : e.type === 'chardev' ? 'c' : 'b';
    args.push(relArg(e.path), Buffer.from(`\0${kind}\0${e.rdevMajor ?? 0}\0${e.rdevMinor ?? 0}\0`));
  }
  const script = 'if [ "$2" = p ]; then mkfifo -m 600 -- "$1"; else mknod -m 600 -- "$1" "$2" "$3" "$4"; fi';
  // xargs goes on after a failed node (exit 123); which ones exist is checked below
  await runTool('xargs', ['-0', '-n', '4', 'sh', '-c', script, 'mknod-one'], dir, Buffer.concat(args)).catch(() => undefined);
  const missing: Entry[] = [];
  for (const e of entries) {
    const st = await lstat(Buffer.concat([Buffer.from(dir + '/'), Buffer.from(bytesFromKey(e.path))])).catch(() => undefined);
    const ok = e.type === 'fifo' ? st?.isFIFO() : e.type === 'chardev' ? st?.isCharacterDevice() : st?.isBlockDevice();
    if (!ok) missing.push(e);
  }
  return missing;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Sets every entry's xattrs with one `setfattr -h --restore=-` (dump on stdin: restore needs no write access to the store). */
export async function applyXattrs(dir: string, entries: Entry[]): Promise<void> {
  const parts: string[] = [];
  for (const e of entries) {
    if (!e.xattrs || Object.keys(e.xattrs).length === 0) continue;
    parts.push(`# file: ${quoteGetfattr(relArg(e.path))}\n`);
    for (const [name, value] of Object.entries(e.xattrs)) {
      // a newline in a value would start a record for another file; validateManifest refuses it first
      if (!BASE64.test(value)) throw new Error(`xattr ${name} of ${e.path} is not base64`);
      // an empty value has no '0s' form: setfattr refuses "name=0s"
      parts.push(`${quoteGetfattr(Buffer.from(name, 'latin1'))}=${value === '' ? '""' : `0s${value}`}\n`);
    }
    parts.push('\n');
  }
  if (parts.length) await runTool('setfattr', ['-h', '--restore=-'], dir, Buffer.from(parts.join(''), 'latin1'));
}

/**
 * Removes every xattr of an existing, empty restore destination (a default ACL there would be inherited
 * by every entry created inside, a stale user.* would stay on the root); the map's own are set later.
 */
export async function clearXattrs(dir: string): Promise<void> {
  // a filesystem without xattr support has none to clear (getfattr fails there)
  const listed = await execFileP('getfattr', ['-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names', '--', dir], { encoding: 'buffer', maxBuffer: 16 << 20 })
    .catch(() => undefined);
  for (const attrs of parseGetfattrDump(listed?.stdout ?? Buffer.alloc(0)).values()) {
    for (const name of Object.keys(attrs)) await execFileP('setfattr', ['-h', '-x', Buffer.from(name, 'latin1').toString(), '--', dir]);
  }
}

/** `touch -d` form of a ns time: touch reads '@-1.25' as -1.25 s, so the sign goes before the magnitude. */
export function touchStamp(ns: bigint): string {
  const mag = ns < 0n ? -ns : ns;
  return `@${ns < 0n ? '-' : ''}${mag / 1_000_000_000n}.${(mag % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/**
 * Sets exact ns mtimes (and atime = mtime) on entries, grouped by time; never follows symlinks. A time
 * shared by several entries is one touch over all of them; the many times held by one entry each (files
 * written at run time) go to one xargs that starts a touch per time, four at a time, instead of a
 * process pair per time from here (3,000 such times took 50 s that way).
 */
export async function touchExact(dir: string, entries: Entry[]): Promise<void> {
  const NUL = Buffer.from([0]);
  const byTime = new Map<string, Buffer[]>();
  for (const e of entries) {
    const stamp = touchStamp(BigInt(e.mtimeNs));
    const names = byTime.get(stamp) ?? [];
    if (!names.length) byTime.set(stamp, names);
    names.push(relArg(e.path), NUL);
  }
  const singles: Buffer[] = [];
  for (const [stamp, names] of byTime) {
    if (names.length === 2) singles.push(Buffer.from(stamp), NUL, Buffer.from('--'), NUL, names[0]!, NUL);
    else await runTool('xargs', ['-0', '-r', 'touch', '-h', '-d', stamp, '--'], dir, Buffer.concat(names));
  }
  // each input triple "STAMP -- NAME" completes `touch -h -d`
  if (singles.length) await runTool('xargs', ['-0', '-r', '-n', '3', '-P', '4', 'touch', '-h', '-d'], dir, Buffer.concat(singles));
}
