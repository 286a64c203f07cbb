// Fills a freshly made, empty ext4 image with a map in one `debugfs -w -f SCRIPT` run: directories,
// files written straight from their store objects (`write` reads the object; no checkout tree, no
// copy, no link into the store), symlinks, fifos and devices, hardlink groups (`ln`), xattrs
// (`ea_set -f`), then the sandbox-only edits. Every path gets its own inode, so duplicate content never
// turns into a hardlink. ext4-stamp.ts then sets the map's mode, owner, ns mtime and link counts.
// debugfs reads its script line by line and splits on unquoted blanks: a name or target with a newline
// or carriage return cannot be written in it, so such a map is left to the checkout path (returns false).
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Entry, Manifest } from '../../core/domain/manifest.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { bytesFromKey } from '../../core/domain/path-key.ts';
import { objectPath } from '../store/store-paths.ts';
import { writeEntryContent } from '../restore/restore-map.ts';
import type { EditPlan } from './sandbox-edits.ts';

// The script is built as a latin1 string: one char per byte, so any name's bytes pass through as is.
const PRINTABLE = /^[\x20-\x7e]*$/;
/** A path key's bytes as a latin1 string (the plain ASCII key is its own). */
export const latin1 = (key: string): string => (PRINTABLE.test(key) && !key.startsWith('b64:') ? key : Buffer.from(bytesFromKey(key)).toString('latin1'));
/** A debugfs argument: double-quoted, a quote doubled (lib/ss's rule). */
export const q = (raw: string): string => `"${raw.replaceAll('"', '""')}"`;
const abs = (key: string): string => q('/' + latin1(key));
// Split on the bytes, never on the key: a 'b64:' key's base64 has '/' of its own.
const base = (key: string): string => { const l = latin1(key); return q(l.slice(l.lastIndexOf('/') + 1)); };
export const parentOf = (key: string): string => { const l = latin1(key); return l.slice(0, Math.max(0, l.lastIndexOf('/'))); };
/** A local file's path (the store's or scratch) in the script. */
export const local = (path: string): string => q(Buffer.from(path).toString('latin1'));

/** Whether debugfs can be told about every entry (no CR/LF in names or targets, small device numbers). */
function scriptable(m: Manifest): boolean {
  const bad = (key: string) => { const b = latin1(key); return b.includes('\n') || b.includes('\r') || b.length > 3800; };
  return m.entries.every((e) => !bad(e.path) && !(e.target !== undefined && bad(e.target))
    && !((e.type === 'chardev' || e.type === 'blockdev') && (e.rdevMajor! > 65535 || e.rdevMinor! > 65535)));
}

/** debugfs reading its script from stdin, so that it runs while the script is still being made. */
export function startDebugfs(img: string, signal?: AbortSignal): { send(line: string): Promise<void> | undefined; finish(): Promise<void> } {
  // -n: no checksum verification on reads (the image is ours and minutes old): a third less CPU, as
  // every name lookup re-reads its directory's blocks. Checksums are still written; e2fsck agrees.
  const child = spawn('debugfs', ['-n', '-w', '-f', '-', img], { stdio: ['pipe', 'ignore', 'pipe'], signal });
  let err = '';
  child.stderr.on('data', (c: Buffer) => { if (err.length < 1 << 16) err += c.toString('latin1'); });
  child.stdin.on('error', () => undefined); // surfaced by the exit status below
  const closed = new Promise<number | null>((resolve, reject) => { child.on('error', reject); child.on('close', resolve); });
  closed.catch(() => undefined);
  let chunk: string[] = [];
  const flush = async () => {
    if (!chunk.length) return;
    const ok = child.stdin.write(Buffer.from(chunk.join('\n') + '\n', 'latin1'));
    chunk = [];
    if (!ok) await Promise.race([new Promise((r) => child.stdin.once('drain', r)), closed]);
  };
  return {
    send: (line) => { chunk.push(line); return chunk.length >= 1024 ? flush() : undefined; },
    finish: async () => {
      await flush();
      child.stdin.end();
      const code = await closed;
      // debugfs exits 0 even when a command fails: any message but its banner is a failure.
      const problems = err.split('\n').filter((l) => l.trim() && !/^debugfs \d/.test(l));
      if (code !== 0 || problems.length) {
        throw new UnderstudyError('usage', `disk image: debugfs could not build the image: ${problems.slice(0, 5).join('; ') || `exit ${code}`}`);
      }
    },
  };
}

/**
 * Writes map `m` plus the edits into the empty ext4 image `img`; `scratch` holds the script and the
 * few files it needs (sparse files, xattr values, edited files). False when the map is not scriptable.
 */
export async function populateWithDebugfs(store: string, m: Manifest, edits: EditPlan, img: string, scratch: string,
  signal?: AbortSignal): Promise<boolean> {
  if (!scriptable(m)) return false;
  const debugfs = startDebugfs(img, signal); // an abort kills it
  try {
    await script(store, m, edits, scratch, debugfs.send);
  } catch (e) {
    await debugfs.finish().catch(() => undefined);
    throw e;
  }
  await debugfs.finish();
  return true;
}

/** The script's lines, in an order debugfs can follow: parents first, links and xattrs after. */
async function script(store: string, m: Manifest, edits: EditPlan, scratch: string,
  send: (line: string) => Promise<void> | undefined): Promise<void> {
  // Only a full chunk waits (for the pipe to drain): no promise per line.
  let pending: Promise<void> | undefined;
  const out = (...lines: string[]): void => { for (const l of lines) pending = send(l) ?? pending; };
  const drained = async () => { if (pending) await pending; pending = undefined; };
  let n = 0;
  const scratchFile = async (data: Buffer | string) => { const f = join(scratch, `f${n++}`); await writeFile(f, data); return local(f); };
  const children = new Map<string, Entry[]>();
  for (const e of m.entries) {
    if (e.path === '') continue;
    const parent = parentOf(e.path);
    const list = children.get(parent);
    if (list) list.push(e); else children.set(parent, [e]);
  }
  const lostFound = m.entries.find((e) => e.path === 'lost+found');
  if (lostFound && lostFound.type !== 'dir') out('rmdir "/lost+found"');
  // Parents before children: in byte order (latin1 strings compare as their bytes) a prefix comes first.
  const dirs = m.entries.filter((e) => e.type === 'dir').map((e) => latin1(e.path)).sort();
  for (const dir of dirs) {
    const kids = children.get(dir);
    if (!kids) continue;
    await drained();
    out(`cd ${q('/' + dir)}`);
    for (const e of kids) {
      const name = base(e.path);
      if (e.type === 'dir' && e.path !== 'lost+found') out(`mkdir ${name}`);
      else if (e.type === 'file' && e.sparse) {
        const f = join(scratch, `f${n++}`);
        await writeEntryContent(store, e, f); // holes stay holes: debugfs copies data extents only
        out(`write ${local(f)} ${name}`);
      } else if (e.type === 'file') out(`write ${local(objectPath(store, e.sha256!))} ${name}`);
      else if (e.type === 'symlink') out(`symlink ${name} ${q(latin1(e.target!))}`);
      else if (e.type === 'fifo') out(`mknod ${name} p`);
      else if (e.type === 'chardev' || e.type === 'blockdev') out(`mknod ${name} ${e.type === 'chardev' ? 'c' : 'b'} ${e.rdevMajor} ${e.rdevMinor}`);
    }
  }
  // Always `cd PARENT` + a bare name: debugfs resolves "/name"'s empty parent to its current directory.
  const into = (key: string) => `cd ${q('/' + parentOf(key))}`;
  for (const e of m.entries) if (e.type === 'hardlink') out(into(e.path), `ln ${abs(e.linkTo!)} ${base(e.path)}`);
  for (const e of m.entries) {
    if (e.type === 'hardlink' || !e.xattrs) continue;
    for (const [name, value] of Object.entries(e.xattrs)) {
      out(`ea_set -f ${await scratchFile(Buffer.from(value, 'base64'))} ${e.path === '' ? '"/"' : abs(e.path)} ${q(name)}`);
    }
  }
  // The sandbox-only edits, on the image's own paths (planSandboxEdits checked the directories).
  const inMap = new Set(m.entries.map((e) => e.path));
  for (const d of edits.mkdirs) out(into(d), `mkdir ${base(d)}`);
  for (const o of edits.ops) {
    if (inMap.has(o.key)) out(`rm ${abs(o.key)}`);
    if (o.op === 'symlink') out(into(o.key), `symlink ${base(o.key)} ${q(o.target)}`);
    if (o.op === 'write') out(into(o.key), `write ${await scratchFile(o.content)} ${base(o.key)}`);
  }
}
