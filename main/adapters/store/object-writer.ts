// Writes content-addressed objects during a capture. Each object is hashed while it is written to a
// temp name in STORE/tmp; objects are made durable in batches (one syncfs of the store's filesystem per
// batch instead of one fsync per object: OSTree measured 401 s vs 10.6 s) and only then renamed into
// objects/. A crash leaves at worst temp files, never a partial object under its hash.
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { access, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { objectPath, tmpDir } from './store-paths.ts';

const run = promisify(execFile);
/** Content up to this size is buffered and only written when the store lacks it. */
const SMALL = 1 << 20;
const BATCH_BYTES = 512 << 20;
const BATCH_FILES = 8192;

/** Flushes the page cache of the filesystem holding `path` (syncfs(2) through coreutils `sync -f`). */
export async function syncFs(path: string): Promise<void> {
  await run('sync', ['-f', path]);
}

export interface ObjectSink {
  write(chunk: Buffer): Promise<void>;
  /** Finishes the object; returns its sha256 and whether new bytes went to the store. */
  commit(): Promise<{ sha256: string; size: number; stored: boolean }>;
  abort(): Promise<void>;
}

export class ObjectWriter {
  private pending: Array<{ tmp: string; sha256: string }> = [];
  private pendingBytes = 0;
  private known = new Set<string>();
  private dirsMade = new Set<string>();
  private flushing: Promise<void> = Promise.resolve();
  private preloaded = false;
  /** Bytes of new objects written to the store. */
  storedBytes = 0;
  /** Name prefix of this writer's temp objects (content workers write under it too). */
  readonly tmpPrefix: string;

  constructor(readonly store: string) {
    this.tmpPrefix = join(tmpDir(store), `obj-${process.pid}-${randomBytes(6).toString('hex')}-`);
  }


  /**
   * Whether the store holds the object. After preloadKnown() the answer comes from memory; an object
   * another process adds meanwhile is only written twice (renamed over itself: same bytes).
   */
  async has(sha256: string): Promise<boolean> {
    if (this.known.has(sha256)) return true;
    if (this.preloaded) return false;
    try { await access(objectPath(this.store, sha256)); this.known.add(sha256); return true; } catch { return false; }
  }

  /** Whether the store holds the object, from memory (after preloadKnown). */
  knows(sha256: string): boolean {
    return this.known.has(sha256);
  }

  sink(): ObjectSink {
    const hash: Hash = createHash('sha256');
    let small: Buffer[] = [];
    let size = 0;
    let fh: FileHandle | undefined;
    let tmp: string | undefined;
    const openTmp = async () => {
      tmp = `${this.tmpPrefix}s${randomBytes(8).toString('hex')}`;
      fh = await open(tmp, 'wx', 0o444);
    };
    const discard = async () => {
      await fh?.close().catch(() => undefined);
      if (tmp) await rm(tmp, { force: true });
    };
    return {
      write: async (chunk) => {
        hash.update(chunk);
        size += chunk.length;
        if (!fh && size <= SMALL) { small.push(Buffer.from(chunk)); return; }
        if (!fh) { await openTmp(); for (const b of small) await fh!.write(b); small = []; }
        await fh!.write(chunk);
      },
      commit: async () => {
        const sha256 = hash.digest('hex');
        if (await this.has(sha256)) { await discard(); return { sha256, size, stored: false }; }
        if (!fh) { await openTmp(); for (const b of small) await fh!.write(b); small = []; }
        await fh!.close();
        return { sha256, size, stored: this.adopt(tmp!, sha256, size) };
      },
      abort: discard,
    };
  }

  /**
   * Takes a finished temp object (written under tmpPrefix, e.g. by a content worker) into the next batch;
   * drops it when the store already has (or will have) that object. Returns whether it was new.
   */
  adopt(tmp: string, sha256: string, size: number): boolean {
    if (this.known.has(sha256)) { rmSync(tmp, { force: true }); return false; }
    this.known.add(sha256);
    this.pending.push({ tmp, sha256 });
    this.pendingBytes += size;
    this.storedBytes += size;
    if (this.pendingBytes >= BATCH_BYTES || this.pending.length >= BATCH_FILES) void this.flush();
    return true;
  }

  /**
   * Makes the pending batch durable, then renames it into place. Runs behind the capture (reading goes
   * on while the kernel writes back); `finish()` waits for every batch and syncs the renames.
   */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.flushing = this.flushing.then(async () => {
      await syncFs(tmpDir(this.store));
      // synchronous: a rename is a short metadata call, a thread-pool hop for each costs more than it
      for (const { tmp, sha256 } of batch) {
        const dest = objectPath(this.store, sha256);
        const dir = dest.slice(0, dest.lastIndexOf('/'));
        if (!this.dirsMade.has(dir)) { mkdirSync(dir, { recursive: true }); this.dirsMade.add(dir); }
        renameSync(tmp, dest);
      }
    });
    // keep a rejection observed until finish() reports it
    this.flushing.catch(() => undefined);
  }

  /** Every object durable and in place, and the renames themselves synced. */
  async finish(): Promise<void> {
    if (this.storedBytes === 0 && this.pending.length === 0) return;
    await this.flush();
    await this.flushing;
    await syncFs(tmpDir(this.store));
  }

  /** Learns every object present in the store with one readdir per fan-out directory. */
  async preloadKnown(): Promise<void> {
    const root = join(this.store, 'objects');
    const dirs = await readdir(root).catch(() => [] as string[]);
    await Promise.all(dirs.map(async (d) => {
      // joined, not `d + f`: a flat string, where a cons string slows every later lookup (~2 µs each)
      for (const f of await readdir(join(root, d)).catch(() => [] as string[])) this.known.add([d, f].join(''));
    }));
    this.preloaded = true;
  }

  /** Drops objects not yet renamed (capture failed or was cancelled). */
  async discardPending(): Promise<void> {
    await this.flushing.catch(() => undefined);
    for (const { tmp } of this.pending) await rm(tmp, { force: true });
    this.pending = [];
    // temp objects a content worker wrote but the capture never adopted
    const dir = tmpDir(this.store), prefix = this.tmpPrefix.slice(dir.length + 1);
    for (const f of await readdir(dir).catch(() => [] as string[])) if (f.startsWith(prefix)) await rm(join(dir, f), { force: true });
  }
}
