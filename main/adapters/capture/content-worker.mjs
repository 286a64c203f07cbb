// Worker thread of a local capture: reads each file once with synchronous calls (no thread-pool hop per
// syscall), hashes the same buffer it read, and writes the content to a temp object only when the store
// lacks it. The main thread adopts the temp objects (dedup across workers, batched syncfs, rename).
// Plain JavaScript on purpose: a worker does not inherit the tsx loader that bin/understudy.mjs registers
// in-process, so it could not load a .ts file. Types are in content-workers.ts (ContentJob/ContentResult).
//
// A live host may change a file while it is read: the file is re-stat'ed on its open fd afterwards and
// read once more if size, mtime, ctime or inode moved; if it moves again it is kept as read, unstable.
import { parentPort, workerData } from 'node:worker_threads';
import { closeSync, constants, existsSync, fstatSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

const { store, tmpPrefix, chunk, noatime } = workerData;
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | (noatime ? constants.O_NOATIME : 0);
const buf = Buffer.allocUnsafe(chunk);
/** Objects this worker already wrote during this capture (pending rename, so not yet in objects/). */
const mine = new Set();
let seq = 0;

const inStore = (sha) => mine.has(sha) || existsSync(join(store, 'objects', sha.slice(0, 2), sha.slice(2)));

function writeAll(fd, b, len) {
  for (let off = 0; off < len;) off += writeSync(fd, b, off, len - off);
}

function readOnce(path, expected) {
  const fd = openSync(path, FLAGS);
  const hash = createHash('sha256');
  let out = -1, tmp, held = 0, size = 0;
  const openOut = () => { tmp = `${tmpPrefix}${seq++}`; out = openSync(tmp, 'wx', 0o444); };
  try {
    for (;;) {
      // a full buffer goes to a temp object before the next read (big files stream through)
      if (held === buf.length) { if (out < 0) openOut(); writeAll(out, buf, held); held = 0; }
      const want = buf.length - held;
      const n = readSync(fd, buf, held, want, null);
      if (n === 0) break;
      hash.update(buf.subarray(held, held + n));
      held += n;
      size += n;
      // stop at the size lstat gave (no extra read for EOF): growth or shrinkage shows in the fstat below
      if (size === expected && n < want) break;
    }
    const st = fstatSync(fd, { bigint: true });
    if (out >= 0) writeAll(out, buf, held);
    return { hash, tmp, out, held, size, st };
  } catch (e) {
    if (out >= 0) { closeSync(out); unlinkSync(tmp); }
    throw e;
  } finally {
    closeSync(fd);
  }
}

function readJob(job) {
  const path = Buffer.from(job.path.buffer, job.path.byteOffset, job.path.byteLength);
  let base = job.key, expected = job.size;
  let bytesRead = 0;
  for (let attempt = 0; ; attempt++) {
    const r = readOnce(path, expected);
    bytesRead += r.size;
    const { st } = r;
    const key = `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;
    const changed = key !== base || String(st.ino) !== job.ino;
    if (changed && attempt === 0) {
      if (r.out >= 0) { closeSync(r.out); unlinkSync(r.tmp); }
      base = key;
      expected = Number(st.size);
      continue;
    }
    const sha256 = r.hash.digest('hex');
    let tmp;
    if (inStore(sha256)) {
      if (r.out >= 0) { closeSync(r.out); unlinkSync(r.tmp); }
    } else {
      if (r.out < 0) { tmp = `${tmpPrefix}${seq++}`; const out = openSync(tmp, 'wx', 0o444); try { writeAll(out, buf, r.held); } finally { closeSync(out); } }
      else { closeSync(r.out); tmp = r.tmp; }
      mine.add(sha256);
    }
    return { id: job.id, sha256, size: r.size, tmp, bytesRead, unstable: changed, key, mtimeNs: String(st.mtimeNs) };
  }
}

parentPort.on('message', (jobs) => {
  const out = [];
  for (const job of jobs) {
    try { out.push(readJob(job)); } catch (e) { out.push({ id: job.id, error: e.message }); }
  }
  parentPort.postMessage(out);
});
