// Reads the content of many local files into the store through a few worker threads (content-worker.mjs).
// Why workers: per file, a capture does open/read/fstat/close plus a temp object's open/write/close. Each
// of those through fs/promises is a thread-pool hop and a promise; synchronous calls in a worker cost a
// fraction of that, and the workers hash on both cores while the main thread only dispatches and adopts.
// Jobs go out in small batches (worker-pool.ts), so a slow (cold) file does not stall the rest.
import type { ObjectWriter } from '../store/object-writer.ts';
import { batchJobs, runBatches } from '../store/worker-pool.ts';

export interface ContentJob {
  id: number;
  /** Absolute path bytes. */
  path: Buffer;
  size: number;
  /** What the walk saw, "size:mtimeNs:ctimeNs:inode": a change after the read means the file moved while read. */
  key: string;
  ino: string;
}

export type ContentResult =
  | { id: number; error: string }
  | { id: number; error?: undefined; sha256: string; size: number; tmp?: string; bytesRead: number; unstable: boolean;
      /** Stat key and mtime after the (last) read: what the entry records. */
      key: string; mtimeNs: string };

/** Content readers: one per core of the 2-core target machine (a third one measured no faster on a warm cache, and
 *  each worker isolate costs ~14 MB of the capture's 300 MB budget). */
const WORKERS = 2;
const BATCH_FILES = 32;
const BATCH_BYTES = 8 << 20;
const CHUNK = 1 << 20;

/**
 * Reads every job; `onResult` gets each outcome (a new temp object is already adopted by `writer`, so
 * `stored` says whether new bytes went to the store). Rejects on abort, after the workers stopped.
 */
export async function readContent(
  writer: ObjectWriter, jobs: Iterable<ContentJob>, onResult: (r: ContentResult, stored: boolean) => void, signal?: AbortSignal,
): Promise<void> {
  await runBatches<ContentJob, ContentResult>({
    script: new URL('./content-worker.mjs', import.meta.url),
    workers: WORKERS,
    data: (i) => ({ store: writer.store, tmpPrefix: `${writer.tmpPrefix}w${i}-`, chunk: CHUNK, noatime: process.getuid?.() === 0 }),
    batches: batchJobs(jobs, (j) => j.size, BATCH_FILES, BATCH_BYTES),
    onResults: (results) => {
      for (const r of results) onResult(r, r.error === undefined && r.tmp !== undefined && writer.adopt(r.tmp, r.sha256, r.size));
    },
    signal,
  });
}
