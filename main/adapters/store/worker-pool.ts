// Runs batches of jobs on a few worker threads, a couple of batches in flight per worker so none waits
// for the main thread. Used where a job is many small synchronous file calls (capture, verify): those
// cost a fraction in a worker of what each costs as an fs/promises call (thread-pool hop + promise).
import { Worker } from 'node:worker_threads';

export async function runBatches<J, R>(opts: {
  script: URL;
  workers: number;
  /** workerData for worker i. */
  data(i: number): unknown;
  /** Pulled lazily: a job exists only while it is queued or in flight. */
  batches: Iterable<J[]>;
  /** Results of one batch, in job order; a throw stops the run. */
  onResults(results: R[]): void;
  signal?: AbortSignal;
  inFlight?: number;
}): Promise<void> {
  const it = opts.batches[Symbol.iterator]();
  const next = (): J[] | undefined => { const r = it.next(); return r.done ? undefined : r.value; };
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let outstanding = 0;
      const onAbort = () => reject(opts.signal!.reason);
      if (opts.signal?.aborted) { onAbort(); return; } // its 'abort' event is already over: it would never come
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => { opts.signal?.removeEventListener('abort', onAbort); resolve(); };
      const feed = (w: Worker, b = next()) => {
        if (!b) { if (outstanding === 0) done(); return; }
        outstanding++;
        w.postMessage(b);
      };
      // a worker is started only when there is a batch for it (a small capture starts one)
      for (let i = 0; i < opts.workers; i++) {
        const first = next();
        if (!first) break;
        // plain .mjs workers: no inherited `--import tsx` (a loader and its hooks thread per worker: ~15 MB each)
        const w = new Worker(opts.script, { workerData: opts.data(i), execArgv: [], resourceLimits: { maxYoungGenerationSizeMb: 4 } });
        workers.push(w);
        w.on('error', reject);
        w.on('message', (results: R[]) => {
          outstanding--;
          try { opts.onResults(results); } catch (e) { reject(e); return; }
          if (!opts.signal?.aborted) feed(w);
        });
        feed(w, first);
        for (let k = 1; k < (opts.inFlight ?? 2); k++) feed(w);
      }
      if (workers.length === 0) done();
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Groups jobs (pulled lazily) into batches of at most `files` jobs or about `bytes` bytes. */
export function* batchJobs<J>(jobs: Iterable<J>, sizeOf: (j: J) => number, files: number, bytes: number): Generator<J[]> {
  let cur: J[] = [], n = 0;
  for (const j of jobs) {
    cur.push(j);
    n += sizeOf(j);
    if (cur.length >= files || n >= bytes) { yield cur; cur = []; n = 0; }
  }
  if (cur.length) yield cur;
}
