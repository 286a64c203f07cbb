// Runs batches of jobs on a few worker threads, a couple of batches in flight per worker so none waits
// for the main thread. Used where a job is many small synchronous file calls (capture, verify): those
// cost a fraction in a worker of what each costs as an fs/promises call (thread-pool hop + promise).
import { Worker } from 'node:worker_threads';

export async function runBatches<J, R>(opts: {
  script: URL;
  workers: number;
  /** workerData for worker i. */
  data(i: number): unknown;
  batches: J[][];
  /** Results of one batch, in job order; a throw stops the run. */
  onResults(results: R[]): void;
  signal?: AbortSignal;
  inFlight?: number;
}): Promise<void> {
  const queue = [...opts.batches].reverse();
  if (queue.length === 0) return;
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let outstanding = 0;
      const onAbort = () => reject(opts.signal!.reason);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const feed = (w: Worker) => {
        const b = queue.pop();
        if (!b) { if (outstanding === 0) { opts.signal?.removeEventListener('abort', onAbort); resolve(); } return; }
        outstanding++;
        w.postMessage(b);
      };
      for (let i = 0; i < Math.min(opts.workers, queue.length); i++) {
        const w = new Worker(opts.script, { workerData: opts.data(i) });
        workers.push(w);
        w.on('error', reject);
        w.on('message', (results: R[]) => {
          outstanding--;
          try { opts.onResults(results); } catch (e) { reject(e); return; }
          if (!opts.signal?.aborted) feed(w);
        });
        for (let k = 0; k < (opts.inFlight ?? 2); k++) feed(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Splits jobs into batches of at most `files` jobs or about `bytes` bytes. */
export function batchJobs<J>(jobs: J[], sizeOf: (j: J) => number, files: number, bytes: number): J[][] {
  const out: J[][] = [];
  let cur: J[] = [], n = 0;
  for (const j of jobs) {
    cur.push(j);
    n += sizeOf(j);
    if (cur.length >= files || n >= bytes) { out.push(cur); cur = []; n = 0; }
  }
  if (cur.length) out.push(cur);
  return out;
}
