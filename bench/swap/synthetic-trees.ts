// The "100k" swap bench's two trees, generated (deterministic content: AES-CTR of a fixed key) and cached
// in CACHE/synthetic-<hash of this file>/{t1,t2}. The upgrade (t1 -> t2) changes about 100,000 paths
// and writes about 2 GB of new content, of every kind a release upgrade has:
//   60,000 files rewritten (about 26 kB each), 3,000 files changed in mode only,
//   1,000 new directories holding 15,000 new files, 500 directories and their 10,000 files removed,
//   2,500 symlinks retargeted and 2,500 added, 2,000 hardlink pairs rewritten (still linked), 1,000 new
//   hardlinks to existing files.
import { execFileSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIRS = 2000, PER_DIR = 40; // usr/lib/pN/fM: 80,000 files
const REWRITE_EVERY = 4; // of each 4 files, 3 are rewritten: 60,000
const NEW_DIRS = 1000, PER_NEW_DIR = 15;
const GONE_DIRS = 500, PER_GONE_DIR = 20;
const LINKS = 5000, PAIRS = 2000, EXTRA_HARDLINKS = 1000, MODE_ONLY = 3000;
const FILE_TIME = 1_700_000_000; // files: whole seconds, as a package's files are

/** A deterministic byte stream: AES-128-CTR over zeros, keyed by a label. */
function bytes(label: string, size: number): Buffer {
  const key = createHash('sha256').update(label).digest();
  const c = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  return c.update(Buffer.alloc(size));
}

function file(path: string, label: string, size: number, mode = 0o644) {
  writeFileSync(path, bytes(label, size), { mode });
  chmodSync(path, mode);
  utimesSync(path, FILE_TIME, FILE_TIME);
}

function buildT1(t1: string) {
  for (let d = 0; d < DIRS; d++) {
    const dir = join(t1, 'usr', 'lib', `p${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < PER_DIR; f++) file(join(dir, `f${f}`), `v1 ${d} ${f}`, 1024 + ((d * 31 + f * 17) % 8) * 1024);
  }
  for (let d = 0; d < GONE_DIRS; d++) {
    const dir = join(t1, 'opt', 'gone', `d${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < PER_GONE_DIR; f++) file(join(dir, `g${f}`), `gone ${d} ${f}`, 2048);
  }
  mkdirSync(join(t1, 'usr', 'share', 'links'), { recursive: true });
  for (let i = 0; i < LINKS / 2; i++) symlinkSync(`../../lib/p${i % DIRS}/f0`, join(t1, 'usr', 'share', 'links', `l${i}`));
  mkdirSync(join(t1, 'usr', 'bin'), { recursive: true });
  for (let i = 0; i < PAIRS; i++) {
    file(join(t1, 'usr', 'bin', `a${i}`), `pair v1 ${i}`, 4096, 0o755);
    linkSync(join(t1, 'usr', 'bin', `a${i}`), join(t1, 'usr', 'bin', `b${i}`));
  }
}

function upgrade(t2: string) {
  for (let d = 0; d < DIRS; d++) {
    for (let f = 0; f < PER_DIR; f++) {
      const p = join(t2, 'usr', 'lib', `p${d}`, `f${f}`);
      if (f % REWRITE_EVERY !== 0) file(p, `v2 ${d} ${f}`, 20_000 + ((d * 7 + f * 13) % 13) * 1024);
    }
  }
  for (let i = 0; i < MODE_ONLY; i++) chmodSync(join(t2, 'usr', 'lib', `p${i % DIRS}`, `f${4 * Math.floor(i / DIRS)}`), 0o600);
  for (let d = 0; d < NEW_DIRS; d++) {
    const dir = join(t2, 'usr', 'lib', 'new', `n${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < PER_NEW_DIR; f++) file(join(dir, `h${f}`), `new ${d} ${f}`, 24_000 + ((d + f) % 16) * 1024);
  }
  rmSync(join(t2, 'opt', 'gone'), { recursive: true });
  for (let i = 0; i < LINKS / 2; i++) {
    const l = join(t2, 'usr', 'share', 'links', `l${i}`);
    unlinkSync(l);
    symlinkSync(`../../lib/p${(i + 1) % DIRS}/f4`, l);
    symlinkSync(`../../lib/new/n${i % NEW_DIRS}/h0`, join(t2, 'usr', 'share', 'links', `m${i}`));
  }
  for (let i = 0; i < PAIRS; i++) {
    const a = join(t2, 'usr', 'bin', `a${i}`), b = join(t2, 'usr', 'bin', `b${i}`);
    file(`${a}.new`, `pair v2 ${i}`, 8192, 0o755);
    unlinkSync(b);
    renameSync(`${a}.new`, a);
    linkSync(a, b);
  }
  for (let i = 0; i < EXTRA_HARDLINKS; i++) linkSync(join(t2, 'usr', 'lib', `p${i}`, `f1`), join(t2, 'usr', 'lib', `p${i}`, `hl`));
}

/** The cached pair, built when missing (atomically: built under a temp name, renamed into place). */
export function syntheticTrees(cache: string): { dir: string; t1: string; t2: string } {
  const hash = createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url))).digest('hex').slice(0, 16);
  const dir = join(cache, `synthetic-${hash}`);
  if (!existsSync(dir)) {
    const tmp = join(cache, `.tmp-synthetic-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    console.log(`  building the 100k trees into ${dir} (once)`);
    buildT1(join(tmp, 't1'));
    // a copy keeps owners, modes, times and the hardlink pairs
    execFileSync('cp', ['-a', '-T', join(tmp, 't1'), join(tmp, 't2')]);
    upgrade(join(tmp, 't2'));
    renameSync(tmp, dir);
  }
  return { dir, t1: join(dir, 't1'), t2: join(dir, 't2') };
}
