// Reads the content of many local files into the store through a few worker threads (content-worker.mjs).
// Why workers: per file, a capture does open/read/fstat/close plus a temp object's open/write/close. Each
// of those through fs/promises is a thread-pool hop and a promise; synchronous calls in a worker cost a
// fraction of that, and the workers hash on both cores while the main thread only dispatches and adopts.
// Jobs go out in small batches, a few per worker in flight, so a slow (cold) file does not stall the rest.
import { Worker } from 'node:worker_threads';
import type { ObjectWriter } from '../store/object-writer.ts';

export interface ContentJob {
  id: number;
  /** Absolute path bytes. */
  path: Buffer;
  /** What the walk saw: a change after the read means the file moved while read. */
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
}

export interface ContentStat { size: bigint; mtimeNs: bigint; ctimeNs: bigint; ino: bigint }

export type ContentResult =
  | { id: number; error: string }
  | { id: number; error?: undefined; sha256: string; size: number; tmp?: string; bytesRead: number; unstable: boolean; st: ContentStat };

/** Content readers: measured on 2 cores, 3 workers keep both cores busy while one waits on the disk. */
const WORKERS = 3;
const BATCH_FILES = 32;
const BATCH_BYTES = 8 << 20;
const IN_FLIGHT = 2;
const CHUNK = 1 << 20;

function batches(jobs: ContentJob[]): ContentJob[][] {
  const out: ContentJob[][] = [];
  let cur: ContentJob[] = [], bytes = 0;
  for (const j of jobs) {
    cur.push(j);
    bytes += Number(j.size);
    if (cur.length >= BATCH_FILES || bytes >= BATCH_BYTES) { out.push(cur); cur = []; bytes = 0; }
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * Reads every job; `onResult` gets each outcome (a new temp object is already adopted by `writer`, so
 * `stored` says whether new bytes went to the store). Rejects on abort, after the workers stopped.
 */
export async function readContent(
  writer: ObjectWriter, jobs: ContentJob[], onResult: (r: ContentResult, stored: boolean) => void, signal?: AbortSignal,
): Promise<void> {
  if (jobs.length === 0) return;
  const queue = batches(jobs).reverse();
  const count = Math.min(WORKERS, queue.length);
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let outstanding = 0;
      const onAbort = () => reject(signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      const feed = (w: Worker) => {
        const b = queue.pop();
        if (!b) { if (outstanding === 0) { signal?.removeEventListener('abort', onAbort); resolve(); } return; }
        outstanding++;
        w.postMessage(b);
      };
      for (let i = 0; i < count; i++) {
        const workerData = { store: writer.store, tmpPrefix: `${writer.tmpPrefix}w${i}-`, chunk: CHUNK, noatime: process.getuid?.() === 0 };
        const w = new Worker(new URL('./content-worker.mjs', import.meta.url), { workerData });
        workers.push(w);
        w.on('error', reject);
        w.on('message', (results: ContentResult[]) => {
          outstanding--;
          try {
            for (const r of results) onResult(r, r.error === undefined && r.tmp !== undefined && writer.adopt(r.tmp, r.sha256, r.size));
          } catch (e) { reject(e); return; }
          if (signal?.aborted) return;
          feed(w);
        });
        for (let k = 0; k < IN_FLIGHT; k++) feed(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
