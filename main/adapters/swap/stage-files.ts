// Staging many objects at once. A shell host gets all of them in one tar stream, extracted by one GNU tar
// on the host (one exec channel), instead of a `mkdir -p` and a `cat >` channel per file: two round trips
// each, and a kernel or libc upgrade stages thousands of files. dir: targets, and shell hosts without
// GNU tar, go file by file through the host's own calls.
import { createReadStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack as tarPack, type Header, type Pack } from 'tar-stream';
import type { StageFile, SwapHost } from './swap-host.ts';

/**
 * Extracts a stage stream below / as root: owners by number from the archive (--same-owner chowns before
 * it chmods, so setuid bits survive), exact modes (-p), no archive mtimes (-m: the agent sets each staged
 * object's time from the plan, and a host clock behind ours would only warn), and an existing directory
 * keeps its own owner and mode.
 */
export const TAR_EXTRACT = 'tar -x -f - -C / -m -p --same-owner --numeric-owner --no-overwrite-dir';

export async function stageOneByOne(host: Pick<SwapHost, 'mkdirp' | 'putObject'>, files: AsyncIterable<StageFile>): Promise<number> {
  let bytes = 0;
  let lastDir = '';
  for await (const f of files) {
    try {
      const dir = dirname(f.dest);
      if (dir !== lastDir) { await host.mkdirp(dir); lastDir = dir; }
      bytes += await host.putObject(f.dest, f.src, { mode: f.mode, uid: f.uid, gid: f.gid });
    } finally { await f.sent?.(); }
  }
  return bytes;
}

/**
 * Like stageOneByOne with up to `width` objects in flight: for hosts whose calls are local file system
 * calls (dir:), which the thread pool then overlaps instead of waiting on each in turn.
 */
export async function stageInParallel(host: Pick<SwapHost, 'mkdirp' | 'putObject'>, files: AsyncIterable<StageFile>, width = 8): Promise<number> {
  let bytes = 0;
  const dirs = new Map<string, Promise<void>>();
  const running = new Set<Promise<void>>();
  let failed: unknown;
  const one = async (f: StageFile) => {
    try {
      const dir = dirname(f.dest);
      if (!dirs.has(dir)) dirs.set(dir, host.mkdirp(dir));
      await dirs.get(dir);
      const n = await host.putObject(f.dest, f.src, { mode: f.mode, uid: f.uid, gid: f.gid });
      bytes += n; // (not `bytes += await`: that reads bytes before the wait, and the others add meanwhile)
    } finally { await f.sent?.(); }
  };
  for await (const f of files) {
    if (failed) { await f.sent?.(); break; }
    const p: Promise<void> = one(f).catch((e: unknown) => { failed ??= e; }).finally(() => running.delete(p));
    running.add(p);
    if (running.size >= width) await Promise.race(running);
  }
  await Promise.all(running);
  if (failed) throw failed;
  return bytes;
}

type Headers = Partial<Header> & Pick<Header, 'name'>;

/** The largest id a ustar header holds (6 octal digits); larger ones travel as pax records. */
const USTAR_MAX_ID = 0o777777;

function idFields(uid: number, gid: number): Partial<Header> {
  if (uid <= USTAR_MAX_ID && gid <= USTAR_MAX_ID) return { uid, gid };
  return { uid: Math.min(uid, USTAR_MAX_ID), gid: Math.min(gid, USTAR_MAX_ID), pax: { uid: String(uid), gid: String(gid) } };
}

/**
 * Writes `files` to `out` as one tar stream (ustar, pax records for long names and large ids), each
 * object's directory as a directory entry before it, each store file streamed from disk with
 * back-pressure (never whole in memory). Returns the content bytes written (headers not counted, as
 * with the per-file path). A failing source or sink ends the stream unfinished: tar on the host then
 * fails on the truncated archive, and what it extracted is staging without a journal (recovery drops it).
 */
export async function writeStageTar(files: AsyncIterable<StageFile>, out: Writable): Promise<number> {
  const pack: Pack = tarPack();
  const sent = pipeline(pack, out);
  // a sink that fails stops a writer waiting for its drain
  const sinkFailed = new Promise<never>((_ok, fail) => { sent.catch(fail); });
  sinkFailed.catch(() => {});
  // a write cut short by a failed sink fails too, later, with nobody waiting: that must not go unhandled
  const untilSinkFails = (p: Promise<unknown>) => { p.catch(() => {}); return Promise.race([p, sinkFailed]); };
  const add = (h: Headers, data?: Buffer) => new Promise<void>((ok, fail) => {
    const done = (e?: Error | null) => { if (e) fail(e); else ok(); };
    if (data) pack.entry(h, data, done); else pack.entry(h, done);
  });
  let bytes = 0;
  const dirs = new Set<string>();
  try {
    for await (const f of files) {
      const name = f.dest.replace(/^\/+/, '');
      const dir = dirname(name);
      if (!dirs.has(dir)) {
        dirs.add(dir);
        await untilSinkFails(add({ name: dir, type: 'directory', mode: 0o755, uid: 0, gid: 0 }));
      }
      // (S_IFREG keeps a mode of 0 from reading as "none given" to tar-stream, which would write 0644;
      // the header keeps the permission bits only)
      const h: Headers = { name, type: 'file', mode: 0o100000 | (f.mode & 0o7777), ...idFields(f.uid, f.gid) };
      try {
        if ('bytes' in f.src) {
          await untilSinkFails(add(h, Buffer.from(f.src.bytes)));
          bytes += f.src.bytes.length;
        } else {
          const entry = pack.entry({ ...h, size: f.src.size });
          await untilSinkFails(pipeline(createReadStream(f.src.file), entry));
          bytes += f.src.size;
        }
      } finally { await f.sent?.(); }
    }
    pack.finalize();
    await sent;
  } catch (e) {
    pack.destroy(e as Error);
    await sent.catch(() => {});
    throw e;
  }
  return bytes;
}
