// Reads one file's content into the object store: streamed through a reusable buffer, hashed while
// written, never whole in memory. A live host may change a file while we read it: the file is re-stat'ed
// on its open fd afterwards and re-read once if size, mtime or ctime moved; if it moves again it is kept
// as read and flagged unstable.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import type { ObjectWriter } from '../store/object-writer.ts';

const CHUNK = 1 << 20;
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | (process.getuid?.() === 0 ? constants.O_NOATIME : 0);

export interface ReadResult {
  sha256: string;
  size: number;
  /** Bytes of new content written to the store. */
  stored: number;
  bytesRead: number;
  unstable: boolean;
  /** Stat after the (last) read: what the entry records. */
  st: BigIntStats;
}

/** What re-stat compares: a BigIntStats or the walk's Meta. */
export type StatLike = Pick<BigIntStats, 'size' | 'mtimeNs' | 'ctimeNs' | 'ino'>;

const moved = (a: StatLike, b: StatLike): boolean => a.size !== b.size || a.mtimeNs !== b.mtimeNs || a.ctimeNs !== b.ctimeNs;

export async function readFileInto(
  writer: ObjectWriter, path: Buffer, before: StatLike, buf: Buffer, onBytes: (n: number) => void,
): Promise<ReadResult> {
  let baseline = before;
  let bytesRead = 0;
  for (let attempt = 0; ; attempt++) {
    const fh = await open(path, FLAGS);
    const sink = writer.sink();
    let after: BigIntStats;
    try {
      // Stop at the size lstat gave (no extra read for EOF): growth or shrinkage shows in the fstat below.
      const expected = Number(baseline.size);
      let got = 0;
      for (;;) {
        const { bytesRead: n } = await fh.read(buf, 0, buf.length, null);
        if (n === 0) break;
        await sink.write(buf.subarray(0, n));
        bytesRead += n;
        got += n;
        onBytes(n);
        if (got === expected && n < buf.length) break;
      }
      after = await fh.stat({ bigint: true });
    } catch (e) {
      await sink.abort();
      throw e;
    } finally {
      await fh.close();
    }
    const changed = moved(baseline, after) || after.ino !== before.ino;
    if (!changed || attempt >= 1) {
      const r = await sink.commit();
      return { sha256: r.sha256, size: r.size, stored: r.stored ? r.size : 0, bytesRead, unstable: changed, st: after };
    }
    await sink.abort();
    baseline = after;
  }
}

export const newReadBuffer = (): Buffer => Buffer.allocUnsafe(CHUNK);
