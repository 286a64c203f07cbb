// Content of tar members into the object store, and local sparse files through GNU tar: Node has no
// SEEK_DATA/SEEK_HOLE, GNU tar does (a 1 TB hole is skipped, not read), and the same tar reader serves
// the ssh:// capture. A sparse file's object is its data extents concatenated; the extents live in the
// manifest entry, so the store is never inflated by holes.
import { spawn } from 'node:child_process';
import type { ObjectWriter } from '../store/object-writer.ts';
import { readTar, type TarMember } from './tar-reader.ts';

export interface StoredContent {
  sha256: string;
  size: number;
  stored: number;
  bytesRead: number;
  sparse?: Array<[number, number]>;
}

export async function storeMemberContent(writer: ObjectWriter, m: TarMember, content: AsyncIterable<Buffer>,
  onBytes?: (n: number) => void): Promise<StoredContent> {
  const sink = writer.sink();
  let bytesRead = 0;
  try {
    for await (const chunk of content) { await sink.write(chunk); bytesRead += chunk.length; onBytes?.(chunk.length); }
  } catch (e) {
    await sink.abort();
    throw e;
  }
  const r = await sink.commit();
  return { sha256: r.sha256, size: m.sparse ? m.size : r.size, stored: r.stored ? r.size : 0, bytesRead, sparse: m.sparse };
}

/** GNU tar flags shared by local sparse reads and the ssh:// capture. */
export const TAR_CREATE_FLAGS = ['--create', '--file=-', '--format=posix', '--numeric-owner', '--xattrs', '--xattrs-include=*',
  '--acls', '--sparse', '--pax-option=delete=atime,delete=ctime'];

/** Reads the given files (paths relative to root) through one local tar; keyed by latin1 of the raw name. */
export async function readSparseFiles(
  writer: ObjectWriter, root: string, rels: Buffer[], onBytes?: (n: number) => void,
): Promise<Map<string, StoredContent & { mtimeNs: string }>> {
  const out = new Map<string, StoredContent & { mtimeNs: string }>();
  if (rels.length === 0) return out;
  const child = spawn('tar', [...TAR_CREATE_FLAGS, '--no-recursion', '--null', '--verbatim-files-from', '-C', root, '-T', '-'],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  const exit = new Promise<number | null>((resolve, reject) => { child.on('error', reject); child.on('close', resolve); });
  child.stdin.end(Buffer.concat(rels.flatMap((r) => [Buffer.from('./'), r, Buffer.from([0])])));
  await readTar(child.stdout, async (m, content) => {
    if (m.type !== 'file' || !content) return;
    out.set(m.name.toString('latin1'), { ...(await storeMemberContent(writer, m, content, onBytes)), mtimeNs: m.mtimeNs });
  });
  const code = await exit;
  // 1 = some file changed or vanished while read: those are missing from `out` and reported by the caller
  if (code !== 0 && code !== 1) throw new Error(`tar failed reading sparse files (exit ${code}): ${stderr.trim()}`);
  return out;
}
