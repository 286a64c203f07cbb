// Lists a remote tree with GNU find before tar reads it: type, size, mtime, ctime and inode of every
// entry (NUL-terminated, paths as raw bytes). This is what makes ssh:// capture incremental (unchanged
// files are not read again) and what records sockets as excluded. Taken BEFORE the content is read, so
// a file changing in between only ever looks "changed" next time, never falsely "unchanged".
import type { RemoteShell } from '../../core/ports/remote-shell.port.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';

export interface ListedEntry {
  /** 'f' file, 'd' dir, 'l' symlink, 's' socket, 'p' fifo, 'c'/'b' devices. */
  type: string;
  /** Raw path relative to the root (no './'). */
  rel: Buffer;
  /** size:mtimeNs:ctimeNs:inode, the stat key of incremental capture. */
  statKey: string;
  mtimeNs: string;
  ino: string;
}

export const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

const ns = (t: string): string => {
  const [s = '0', f = ''] = t.split('.');
  return (BigInt(s) * 1_000_000_000n + BigInt((f + '000000000').slice(0, 9))).toString();
};

/**
 * `starts` are './'-relative roots (e.g. '.', './boot'); `pruneKeep` are './x' dirs listed themselves but
 * not their contents; `pruneDrop` are './x' paths left out entirely (operator excludes).
 */
export async function listRemote(shell: RemoteShell, opts: { root: string; starts: string[]; pruneKeep: string[]; pruneDrop: string[]; sudo: boolean; signal?: AbortSignal }): Promise<ListedEntry[]> {
  const fmt = `'%y\\t%s\\t%T@\\t%C@\\t%i\\t%p\\0'`;
  const paths = (list: string[]) => list.map((p) => `-path ${shellQuote(p)}`).join(' -o ');
  const drop = opts.pruneDrop.length ? `\\( ${paths(opts.pruneDrop)} \\) -prune -o` : '';
  const keep = opts.pruneKeep.length ? `\\( ${paths(opts.pruneKeep)} \\) -printf ${fmt} -prune -o` : '';
  const cmd = `cd ${shellQuote(opts.root)} && ${opts.sudo ? 'sudo -n ' : ''}find ${opts.starts.map(shellQuote).join(' ')} -xdev ${drop} ${keep} -printf ${fmt}`;
  const chunks: Buffer[] = [];
  let stderr = '';
  const r = await shell.exec(cmd, { signal: opts.signal, onStdout: (c) => chunks.push(Buffer.from(c)), onStderr: (c) => { stderr += Buffer.from(c).toString(); } });
  // exit 1: some entries vanished or were unreadable while listing (a live host); the rest is good
  if (r.exitCode !== 0 && r.exitCode !== 1) throw new UnderstudyError('remote-command', `listing the host failed (exit ${r.exitCode}): ${stderr.trim().slice(-500)}`);
  const out = new Map<string, ListedEntry>();
  const all = Buffer.concat(chunks);
  for (let pos = 0; pos < all.length;) {
    let end = all.indexOf(0, pos);
    if (end < 0) end = all.length;
    const rec = all.subarray(pos, end);
    pos = end + 1;
    const tabs: number[] = [];
    for (let i = 0; i < rec.length && tabs.length < 5; i++) if (rec[i] === 9) tabs.push(i);
    if (tabs.length < 5) continue;
    const f = [0, 1, 2, 3, 4].map((k) => rec.toString('latin1', k === 0 ? 0 : tabs[k - 1]! + 1, tabs[k]));
    let rel = rec.subarray(tabs[4]! + 1);
    if (rel.length >= 2 && rel[0] === 0x2e && rel[1] === 0x2f) rel = rel.subarray(2);
    else if (rel.length === 1 && rel[0] === 0x2e) rel = Buffer.alloc(0);
    const mtimeNs = ns(f[2]!);
    out.set(rel.toString('latin1'), { type: f[0]!, rel, mtimeNs, ino: f[4]!, statKey: `${f[1]}:${mtimeNs}:${ns(f[3]!)}:${f[4]}` });
  }
  return [...out.values()];
}
