// Worker thread of `verify`: sha256 of whole files with synchronous reads into one reusable buffer.
// Plain JavaScript for the reason given in capture/content-worker.mjs (no tsx loader in a worker).
import { parentPort } from 'node:worker_threads';
import { closeSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';

const buf = Buffer.allocUnsafe(1 << 20);

function hashFile(path) {
  const fd = openSync(path, 'r');
  try {
    const hash = createHash('sha256');
    let size = 0;
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) { hash.update(buf.subarray(0, n)); size += n; }
    return { sha256: hash.digest('hex'), size };
  } finally {
    closeSync(fd);
  }
}

parentPort.on('message', (jobs) => {
  parentPort.postMessage(jobs.map((j) => {
    try { return { id: j.id, ...hashFile(j.path) }; } catch (e) { return { id: j.id, code: e.code, error: e.message }; }
  }));
});
