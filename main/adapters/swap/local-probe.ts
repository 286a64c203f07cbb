// The host as it is now, for the paths a swap touches (dir: and local targets): lstat, symlink
// targets, xattrs (getfattr, batched), and sha256 only where the stat differs from the expected entry
// (re-stat; re-hash where stat differs). Hosts reached over ssh answer the same question via the agent.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { createReadStream, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import type { Entry } from '../../core/domain/manifest.ts';
import { devNumbers, typeOf } from '../capture/entry-builder.ts';
import { bytesFromKey, keyFromBytes } from '../../core/domain/path-key.ts';
import type { HostEntry } from '../../core/domain/swap-drift.ts';

export const hostPath = (root: string, key: string): Buffer =>
  Buffer.concat([Buffer.from(root.replace(/\/+$/, '')), Buffer.from('/'), Buffer.from(bytesFromKey(key))]);

export async function sha256Of(path: Buffer | string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}


/** getfattr's octal escapes (\ooo) back to bytes. */
function unescape(s: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === 0x5c && /^[0-7]{3}$/.test(s.toString('latin1', i + 1, i + 4))) {
      out.push(parseInt(s.toString('latin1', i + 1, i + 4), 8));
      i += 3;
    } else out.push(s[i]!);
  }
  return Buffer.from(out);
}

/** xattrs of many paths (name -> base64), keyed by the path's bytes as latin1: one xargs, a getfattr per
 *  ~128 kB of names (not per path, nor per few hundred). */
export function readXattrs(paths: Buffer[]): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  if (!paths.length) return out;
  const r = spawnSync('xargs', ['-0', 'getfattr', '-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names', '--'],
    { input: Buffer.concat(paths.flatMap((p) => [p, Buffer.from([0])])), encoding: 'buffer', maxBuffer: 1 << 30, env: { ...process.env, LC_ALL: 'C' } });
  if (r.error) throw r.error;
  // 123: some getfattr saw a path vanish or a filesystem without xattrs; 126/127: no getfattr at all
  if (r.status !== 0 && r.status !== 123) throw new Error(`getfattr via xargs failed (exit ${r.status}): ${r.stderr.toString().trim().slice(-300)}`);
  let cur: Record<string, string> | undefined;
  for (const line of splitLines(r.stdout)) {
    if (line.length === 0) { cur = undefined; continue; }
    if (line.toString('latin1', 0, 8) === '# file: ') { cur = {}; out.set(unescape(line.subarray(8)).toString('latin1'), cur); continue; }
    if (!cur) continue;
    const eq = line.indexOf(0x3d);
    const name = unescape(eq < 0 ? line : line.subarray(0, eq)).toString('latin1');
    const v = eq < 0 ? '' : line.toString('latin1', eq + 1);
    cur[name] = v.startsWith('0s') ? v.slice(2) : v === '""' ? '' : Buffer.from(v.replace(/^"|"$/g, ''), 'latin1').toString('base64');
  }
  return out;
}

function splitLines(b: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let pos = 0;
  while (pos < b.length) {
    let nl = b.indexOf(0x0a, pos);
    if (nl < 0) nl = b.length;
    lines.push(b.subarray(pos, nl));
    pos = nl + 1;
  }
  return lines;
}

export interface ProbeRequest {
  /** Path keys to look at. */
  paths: string[];
  /** What each path is expected to be (map1): a file whose size and mtime match is not re-hashed. */
  expected?: ReadonlyMap<string, Entry>;
  /** Directories whose children should be listed (removals: do they hold host-only files?). */
  listChildren?: ReadonlySet<string>;
}

export async function probeLocal(root: string, req: ProbeRequest): Promise<Map<string, HostEntry | null>> {
  const out = new Map<string, HostEntry | null>();
  const found: string[] = []; // keys: their host paths are made again for getfattr (not 100k Buffers held)
  let n = 0;
  for (const key of req.paths) {
    // lstat and readlink in this thread (a thread-pool round trip each costs ten times the call at 100k
    // paths); the event loop gets a turn every thousand paths
    if (++n % 1000 === 0) await new Promise((res) => setImmediate(res));
    const p = hostPath(root, key);
    let st: BigIntStats;
    try { st = lstatSync(p, { bigint: true }); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') { out.set(key, null); continue; }
      throw e;
    }
    const type = typeOf(st);
    if (!type) { out.set(key, null); continue; }
    const e: HostEntry = { path: key, type, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid),
      mtimeNs: st.mtimeNs.toString(), size: type === 'file' ? Number(st.size) : 0, nlink: Number(st.nlink) };
    if (type === 'file') {
      const exp = req.expected?.get(key);
      const hint = exp?.type === 'file' && exp.size === e.size && exp.mtimeNs === e.mtimeNs ? exp.sha256 : undefined;
      e.sha256 = hint ?? await sha256Of(p);
    } else if (type === 'symlink') {
      e.target = keyFromBytes(readlinkSync(p, { encoding: 'buffer' }));
    } else if (type === 'chardev' || type === 'blockdev') {
      const d = devNumbers(st.rdev);
      e.rdevMajor = d.major;
      e.rdevMinor = d.minor;
    } else if (type === 'dir' && req.listChildren?.has(key)) {
      const names = readdirSync(p, { encoding: 'buffer' });
      const prefix = key === '' ? new Uint8Array() : new Uint8Array([...bytesFromKey(key), 0x2f]);
      e.children = names.map((n) => keyFromBytes(new Uint8Array([...prefix, ...n])));
    }
    out.set(key, e);
    found.push(key);
  }
  const xa = readXattrs(found.map((key) => hostPath(root, key)));
  for (const key of xa.size ? found : []) {
    const x = xa.get(hostPath(root, key).toString('latin1'));
    if (x && Object.keys(x).length) out.get(key)!.xattrs = x;
  }
  return out;
}
