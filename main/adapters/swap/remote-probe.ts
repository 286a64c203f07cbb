// probe() for hosts without Node: remote-probe.sh answers the same question as local-probe.ts (lstat,
// symlink targets, xattrs, sha256 only where the stat differs from map1, children of removed dirs) with
// GNU stat/sha256sum/readlink/find/getfattr, and this file turns its answers into the very same
// HostEntry values: the drift decision must not depend on how the host was reached.
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { EntryType } from '../../core/domain/manifest.ts';
import { bytesFromKey, keyFromBytes } from '../../core/domain/path-key.ts';
import type { HostEntry } from '../../core/domain/swap-drift.ts';
import { parseGetfattrDump } from '../capture/xattr-reader.ts';
import { shellQuote } from '../capture/remote-listing.ts';
import { hostPath, type ProbeRequest } from './local-probe.ts';

const script = readFileSync(fileURLToPath(new URL('./remote-probe.sh', import.meta.url)), 'utf8');

export type ProbeMode = 'stat' | 'hash' | 'link' | 'children' | 'xattr';

/** Runs one shell command line with stdin; resolves with its exit code and raw output. */
export type ShellRunner = (command: string, stdin: Buffer) => Promise<{ code: number | null; stdout: Buffer; stderr: string }>;

/** The command line for one probe mode (identical whatever transport runs it). */
export const probeCommand = (mode: ProbeMode, sudo = false): string =>
  `${sudo ? 'sudo -n ' : ''}env UNDERSTUDY_PROBE=${shellQuote(script)} sh -c ${shellQuote(script)} probe ${mode}`;

/** Runs command lines through this machine's `sh` (tests: the same script against a local tree). */
export const localRunner: ShellRunner = (command, stdin) => new Promise((resolve, reject) => {
  const p = spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  p.stdout.on('data', (c: Buffer) => out.push(c));
  p.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  p.on('error', reject);
  p.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
  p.stdin.on('error', () => { /* the command may exit before reading everything; its exit code tells */ });
  p.stdin.end(stdin);
});

const TYPES: Record<number, EntryType> = { 0o100000: 'file', 0o040000: 'dir', 0o120000: 'symlink', 0o010000: 'fifo', 0o020000: 'chardev', 0o060000: 'blockdev' };

/** '1700000000.123456789' (or '-1.5...') -> ns as a decimal string, like lstat's mtimeNs. */
export function nsFromStat(t: string): string {
  const neg = t.startsWith('-');
  const [s = '0', f = ''] = (neg ? t.slice(1) : t).split('.');
  const v = BigInt(s) * 1_000_000_000n + BigInt((f + '000000000').slice(0, 9));
  return (neg ? -v : v).toString();
}

function splitNul(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < b.length;) {
    const end = b.indexOf(0, pos);
    if (end < 0) throw new UnderstudyError('remote-command', 'probe: truncated NUL-separated answer');
    out.push(b.subarray(pos, end));
    pos = end + 1;
  }
  return out;
}

const nulJoin = (paths: Buffer[]) => Buffer.concat(paths.flatMap((p) => [p, Buffer.from([0])]));

async function ask(run: ShellRunner, sudo: boolean, mode: ProbeMode, paths: Buffer[]): Promise<Buffer> {
  if (!paths.length) return Buffer.alloc(0);
  const r = await run(probeCommand(mode, sudo), nulJoin(paths));
  if (r.code !== 0) throw new UnderstudyError('remote-command', `probing the host (${mode}) failed (exit ${r.code}): ${r.stderr.trim().slice(-500)}`);
  return r.stdout;
}

function lines(b: Buffer, n: number, mode: string): string[] {
  const l = b.toString('latin1').split('\n');
  if (l.at(-1) === '') l.pop();
  if (l.length !== n) throw new UnderstudyError('remote-command', `probe (${mode}): ${l.length} answers for ${n} paths`);
  return l;
}

/** The stat answer, one entry per path in input order: null where the path does not exist. */
function statLines(b: Buffer, abs: Buffer[]): Array<string | null> {
  const recs = splitNul(b);
  let j = 0;
  const out = abs.map((p) => {
    const r = recs[j];
    let sp = -1;
    for (let k = 0; r && k < 8; k++) { sp = r.indexOf(0x20, sp + 1); if (sp < 0) break; }
    if (!r || sp < 0 || !r.subarray(sp + 1).equals(p)) return null;
    j++;
    return r.toString('latin1', 0, sp);
  });
  if (j !== recs.length) throw new UnderstudyError('remote-command', `probe (stat): ${recs.length - j} answer(s) for no path asked`);
  return out;
}

export async function probeRemote(root: string, req: ProbeRequest, run: ShellRunner, sudo = false): Promise<Map<string, HostEntry | null>> {
  const out = new Map<string, HostEntry | null>();
  const abs = req.paths.map((k) => hostPath(root, k));
  const stats = statLines(await ask(run, sudo, 'stat', abs), abs);
  const found: number[] = [];
  stats.forEach((line, i) => {
    const key = req.paths[i]!;
    const f = line?.split(' ') ?? [];
    const type = f.length === 8 ? TYPES[parseInt(f[0]!, 16) & 0o170000] : undefined;
    if (line === null || !type) { out.set(key, null); return; } // sockets are not map entries either
    const raw = parseInt(f[0]!, 16);
    out.set(key, { path: key, type, mode: raw & 0o7777, uid: Number(f[1]), gid: Number(f[2]), mtimeNs: nsFromStat(f[3]!),
      size: type === 'file' ? Number(f[4]) : 0, nlink: Number(f[5]) });
    if (type === 'chardev' || type === 'blockdev') Object.assign(out.get(key)!, { rdevMajor: parseInt(f[6]!, 16), rdevMinor: parseInt(f[7]!, 16) });
    found.push(i);
  });
  const pick = (pred: (e: HostEntry, key: string) => boolean) => found.filter((i) => pred(out.get(req.paths[i]!)!, req.paths[i]!));
  const toHash = pick((e, key) => {
    if (e.type !== 'file') return false;
    const exp = req.expected?.get(key);
    if (exp?.type === 'file' && exp.size === e.size && exp.mtimeNs === e.mtimeNs && exp.sha256) { e.sha256 = exp.sha256; return false; }
    return true;
  });
  const links = pick((e) => e.type === 'symlink');
  const dirs = pick((e, key) => e.type === 'dir' && (req.listChildren?.has(key) ?? false));
  const [hashes, targets, children, xattrs] = await Promise.all([
    ask(run, sudo, 'hash', toHash.map((i) => abs[i]!)), ask(run, sudo, 'link', links.map((i) => abs[i]!)),
    ask(run, sudo, 'children', dirs.map((i) => abs[i]!)), ask(run, sudo, 'xattr', found.map((i) => abs[i]!))]);
  // sha256sum's line: HASH  NAME, led by a backslash when it escaped the name
  lines(hashes, toHash.length, 'hash').forEach((h, j) => {
    const m = /^\\?([0-9a-f]{64}) /.exec(h);
    if (!m) throw new UnderstudyError('remote-command', `probe (hash): unexpected answer '${h.slice(0, 80)}'`);
    out.get(req.paths[toHash[j]!]!)!.sha256 = m[1]!;
  });
  const t = splitNul(targets);
  if (t.length !== links.length) throw new UnderstudyError('remote-command', `probe (link): ${t.length} answers for ${links.length} paths`);
  t.forEach((b, j) => { out.get(req.paths[links[j]!]!)!.target = keyFromBytes(b); });
  const pairs = splitNul(children);
  if (pairs.length % 2) throw new UnderstudyError('remote-command', 'probe (children): answer ends early');
  const names = new Map<string, Buffer[]>();
  for (let j = 0; j < pairs.length; j += 2) {
    const d = pairs[j]!.toString('latin1');
    const list = names.get(d) ?? [];
    if (!list.length) names.set(d, list);
    list.push(pairs[j + 1]!);
  }
  for (const i of dirs) {
    const key = req.paths[i]!;
    const prefix = key === '' ? Buffer.alloc(0) : Buffer.from([...bytesFromKey(key), 0x2f]);
    out.get(key)!.children = (names.get(abs[i]!.toString('latin1')) ?? []).map((n) => keyFromBytes(Buffer.concat([prefix, n])));
  }
  const xa = parseGetfattrDump(xattrs);
  for (const i of found) {
    const x = xa.get(abs[i]!.toString('latin1'));
    if (x && Object.keys(x).length) out.get(req.paths[i]!)!.xattrs = x;
  }
  return out;
}
