// The parts of a restore Node has no API for, done in batches by standard tools: device nodes and
// fifos (mknod/mkfifo under safe temp names, then renamed into place by raw bytes), xattrs
// (`setfattr -h --restore`, never following symlinks), and nanosecond mtimes (`touch -h -d @S.N`, since
// Node's utimes rounds to microseconds).
import { spawn } from 'node:child_process';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { bytesFromKey } from '../../core/domain/path-key.ts';
import type { Entry } from '../../core/domain/manifest.ts';
import { quoteGetfattr } from '../capture/xattr-reader.ts';

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

/** Creates fifos and device nodes as DIR/.understudy-node-N; returns [tempName, entry] pairs. */
export async function makeSpecialNodes(dir: string, entries: Entry[]): Promise<Array<[string, Entry]>> {
  const made: Array<[string, Entry]> = [];
  const lines: string[] = [];
  entries.forEach((e, i) => {
    const name = `.understudy-node-${i}`;
    if (e.type === 'fifo') lines.push(`mkfifo -m 600 ${name}`);
    else lines.push(`mknod -m 600 ${name} ${e.type === 'chardev' ? 'c' : 'b'} ${e.rdevMajor} ${e.rdevMinor}`);
    made.push([join(dir, name), e]);
  });
  if (lines.length) await runTool('sh', ['-ec', lines.join('\n')], dir);
  return made;
}

export async function applyXattrs(dir: string, entries: Entry[], scratch: string): Promise<void> {
  const parts: string[] = [];
  for (const e of entries) {
    if (!e.xattrs || Object.keys(e.xattrs).length === 0) continue;
    parts.push(`# file: ${quoteGetfattr(relArg(e.path))}\n`);
    for (const [name, value] of Object.entries(e.xattrs)) parts.push(`${quoteGetfattr(Buffer.from(name, 'latin1'))}=0s${value}\n`);
    parts.push('\n');
  }
  if (!parts.length) return;
  await writeFile(scratch, Buffer.from(parts.join(''), 'latin1'));
  try { await runTool('setfattr', ['-h', `--restore=${scratch}`], dir); } finally { await rm(scratch, { force: true }); }
}

/** Sets exact ns mtimes (and atime = mtime) on entries, grouped by time; never follows symlinks. */
export async function touchExact(dir: string, entries: Entry[]): Promise<void> {
  const byTime = new Map<string, Buffer[]>();
  for (const e of entries) {
    const ns = BigInt(e.mtimeNs);
    const sec = ns / 1_000_000_000n, frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
    const stamp = `@${sec}.${frac}`;
    byTime.set(stamp, [...(byTime.get(stamp) ?? []), relArg(e.path), Buffer.from([0])]);
  }
  for (const [stamp, names] of byTime) await runTool('xargs', ['-0', '-r', 'touch', '-h', '-d', stamp, '--'], dir, Buffer.concat(names));
}
