// The sha256 of a file entry's logical content (holes read as zeros). A map stores a sparse file's
// data extents only and hashes those, so the same bytes hash differently once sparse or dense; and
// mkfs.ext4 -d turns zero blocks into holes, so the sandbox's copy of an untouched file is often sparse
// where the host's is dense. Comparing logical hashes keeps such files out of the delta.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Entry } from '../../core/domain/manifest.ts';
import { objectPath } from '../store/store-paths.ts';

export async function logicalSha256(store: string, e: Entry): Promise<string | undefined> {
  if (!e.sha256) return undefined;
  if (!e.sparse) return e.sha256;
  const h = createHash('sha256');
  const f = await open(objectPath(store, e.sha256), 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    let pos = 0; // logical offset reached
    let objPos = 0; // offset in the object (extents back to back)
    const zeros = (n: number) => { for (let left = n; left > 0;) { const k = Math.min(left, buf.length); h.update(Buffer.alloc(k)); left -= k; } };
    for (const [off, len] of e.sparse) {
      zeros(off - pos);
      for (let done = 0; done < len;) {
        const { bytesRead } = await f.read(buf, 0, Math.min(buf.length, len - done), objPos);
        if (bytesRead === 0) return undefined;
        h.update(buf.subarray(0, bytesRead));
        done += bytesRead; objPos += bytesRead;
      }
      pos = off + len;
    }
    zeros(e.size - pos);
  } finally {
    await f.close();
  }
  return h.digest('hex');
}

/** Same logical content: equal hashes, or equal sizes and equal logical hashes when one side is sparse. */
export async function sameLogicalContent(store: string, a: Entry, b: Entry): Promise<boolean> {
  if (a.type !== 'file' || b.type !== 'file' || a.size !== b.size) return false;
  if (a.sha256 === b.sha256 && JSON.stringify(a.sparse ?? null) === JSON.stringify(b.sparse ?? null)) return true;
  if (!a.sparse && !b.sparse) return false;
  const [x, y] = await Promise.all([logicalSha256(store, a), logicalSha256(store, b)]);
  return x !== undefined && x === y;
}

/**
 * An image built with whole-second timestamps gives an entry the sandbox never touched back with map1's
 * mtime cut to the second: that is the same entry, not a change.
 */
export const sameUpToDiskPrecision = (m1: string, m2: string): boolean => m2.endsWith('000000000') && m1.slice(0, -9) === m2.slice(0, -9);
