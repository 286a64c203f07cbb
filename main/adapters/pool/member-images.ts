// The sandbox base images on a remote pool member: a content-addressed cache in its work directory.
//   const { image, sentBytes } = await ensureMemberImage(session, base, { signal, onProgress })
//   image = { key, dir, rootImg, kernel, initrd? }   paths on the member
// The base image is built here (disk-build.ts) and sent once per content: its files (root.img, the kernel,
// the initrd) and their SHA256SUMS go in one sparse, gzip'd tar stream over the member's SSH connection,
// are checked with sha256sum there, and only then renamed into images/KEY (KEY: a hash of SHA256SUMS).
// A second run of the same content on that member sends nothing. The cache is bounded by the entry's size:
// before an image arrives, the least recently used ones go (an image some sandbox on the member still
// uses, listed in its runs/*/image, is never removed).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { BaseImage } from '../sandbox/disk-build.ts';
import { shellQuote as q } from '../capture/remote-listing.ts';
import type { MemberSession } from './member-session.ts';

export interface MemberImage { key: string; dir: string; rootImg: string; kernel: string; initrd?: string }

interface ImageFile { name: string; path: string }

const filesOf = (base: BaseImage): ImageFile[] => [
  { name: 'root.img', path: base.rootImg }, { name: 'vmlinuz', path: base.kernel },
  ...(base.initrd ? [{ name: 'initrd.img', path: base.initrd }] : []),
];

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Hashes kept beside the base image (it never changes once built), keyed by each file's size and mtime. */
async function cachedSha256(base: BaseImage, f: ImageFile): Promise<string> {
  const st = await stat(f.path);
  const memo = join(base.dir, '.sha256-memo.json');
  let saved: Record<string, { size: number; mtimeMs: number; sha256: string }> = {};
  try { saved = JSON.parse(await readFile(memo, 'utf8')); } catch { /* none yet */ }
  const hit = saved[f.path];
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.sha256;
  const sha256 = await sha256File(f.path);
  saved[f.path] = { size: st.size, mtimeMs: st.mtimeMs, sha256 };
  await writeFile(`${memo}.${process.pid}`, JSON.stringify(saved)).then(() => rename(`${memo}.${process.pid}`, memo))
    .catch(() => undefined); // an optimisation only (the image cache may be read-only to us)
  return sha256;
}

/** SHA256SUMS (sha256sum's format) of the image's files and the cache key derived from it. */
export async function imageSums(base: BaseImage): Promise<{ key: string; sums: string }> {
  const lines: string[] = [];
  for (const f of filesOf(base)) lines.push(`${await cachedSha256(base, f)}  ${f.name}`);
  const sums = lines.join('\n') + '\n';
  return { key: createHash('sha256').update(sums).digest('hex').slice(0, 32), sums };
}

/** Bytes the image takes on disk (sparse root.img: its allocated blocks). */
export async function imageDiskBytes(base: BaseImage): Promise<number> {
  let n = 0;
  for (const f of filesOf(base)) n += (await stat(f.path)).blocks * 512;
  return n;
}

export interface CachedImage { key: string; lastUsed: number; bytes: number }

/**
 * Which cached images to remove so that `incoming` more bytes fit under `limit`: least recently used
 * first, never one in `inUse`. When even that is not enough, everything removable goes (the image is still
 * sent: a sandbox needs it) and the caller reports the overrun.
 */
export function planEviction(cached: CachedImage[], inUse: Set<string>, incoming: number, limit: number): string[] {
  let total = cached.reduce((n, c) => n + c.bytes, 0) + incoming;
  const out: string[] = [];
  for (const c of [...cached].sort((a, b) => a.lastUsed - b.lastUsed)) {
    if (total <= limit) break;
    if (inUse.has(c.key)) continue;
    out.push(c.key);
    total -= c.bytes;
  }
  return out;
}

const KEY = /^[0-9a-f]{32}$/;

/** The member's cached images (complete ones only) and the keys its sandboxes use. */
export async function listMemberImages(s: MemberSession, signal?: AbortSignal): Promise<{ cached: CachedImage[]; inUse: Set<string> }> {
  const w = q(s.info.workDir);
  const out = await s.sh(`cd ${w}/images && for d in *; do [ -f "$d/SHA256SUMS" ] && [ -f "$d/last-used" ] || continue; `
    + `printf 'img %s %s %s\\n' "$d" "$(stat -c %Y "$d/last-used")" "$(du -sk "$d" | cut -f1)"; done; `
    + `cat ${w}/runs/*/image 2>/dev/null | sed 's/^/use /'; true`, { signal });
  const cached: CachedImage[] = [];
  const inUse = new Set<string>();
  for (const line of out.split('\n')) {
    const f = line.split(' ');
    if (f[0] === 'img' && KEY.test(f[1] ?? '')) cached.push({ key: f[1]!, lastUsed: Number(f[2]), bytes: Number(f[3]) * 1024 });
    if (f[0] === 'use' && KEY.test(f[1] ?? '')) inUse.add(f[1]!);
  }
  return { cached, inUse };
}

const pathsOn = (s: MemberSession, key: string, base: BaseImage): MemberImage => {
  const dir = `${s.info.workDir}/images/${key}`;
  return { key, dir, rootImg: `${dir}/root.img`, kernel: `${dir}/vmlinuz`, ...(base.initrd ? { initrd: `${dir}/initrd.img` } : {}) };
};

/** One upload per (session, key) at a time: a second sandbox of the same content waits for the first. */
const inFlight = new WeakMap<MemberSession, Map<string, Promise<{ sentBytes: number }>>>();

export interface EnsureOptions {
  signal?: AbortSignal;
  /** Bytes sent so far of the compressed stream. */
  onProgress?(sent: number): void;
  log?(line: string): void;
}

export async function ensureMemberImage(s: MemberSession, base: BaseImage, o: EnsureOptions = {}): Promise<{ image: MemberImage; sentBytes: number; cached: boolean }> {
  const { key, sums } = await imageSums(base);
  const image = pathsOn(s, key, base);
  let perSession = inFlight.get(s);
  if (!perSession) { perSession = new Map(); inFlight.set(s, perSession); }
  const pending = perSession.get(key);
  if (pending) { await pending; return { image, sentBytes: 0, cached: true }; }
  const hit = (await s.sh(`if [ -f ${q(image.dir)}/SHA256SUMS ]; then touch ${q(image.dir)}/last-used && echo hit; fi`, { signal: o.signal })).trim() === 'hit';
  if (hit) return { image, sentBytes: 0, cached: true };
  const p = upload(s, base, key, sums, o);
  perSession.set(key, p);
  try {
    const { sentBytes } = await p;
    return { image, sentBytes, cached: false };
  } finally { perSession.delete(key); }
}

async function upload(s: MemberSession, base: BaseImage, key: string, sums: string, o: EnsureOptions): Promise<{ sentBytes: number }> {
  const label = `pool member ${s.spec.name}`;
  const need = await imageDiskBytes(base);
  const { cached, inUse } = await listMemberImages(s, o.signal);
  const evict = planEviction(cached, inUse, need, s.spec.cacheBytes);
  if (evict.length) {
    o.log?.(`${label}: evicting ${evict.length} least recently used image(s) to stay under ${Math.round(s.spec.cacheBytes / 2 ** 20)} MiB`);
    await s.sh(`cd ${q(s.info.workDir)}/images && rm -rf -- ${evict.map(q).join(' ')}`, { signal: o.signal });
  }
  const left = cached.filter((c) => !evict.includes(c.key)).reduce((n, c) => n + c.bytes, 0);
  if (left + need > s.spec.cacheBytes) {
    o.log?.(`${label}: the image cache holds ${Math.round((left + need) / 2 ** 20)} MiB, over its ${Math.round(s.spec.cacheBytes / 2 ** 20)} MiB `
      + '(images in use cannot go); raise its cache size');
  }
  // a staging dir of links, so the files go under their cache names from wherever they are (--kernel)
  const stage = await mkdtemp(join(tmpdir(), 'understudy-member-image-'));
  try {
    const files = filesOf(base);
    for (const f of files) await symlink(f.path, join(stage, f.name));
    await writeFile(join(stage, 'SHA256SUMS'), sums);
    const names = [...files.map((f) => f.name), 'SHA256SUMS'];
    const w = q(`${s.info.workDir}/images`);
    const incoming = `.incoming-${key}-${process.pid}-${Date.now()}`;
    const receive = `cd ${w} && rm -rf ${incoming} && mkdir ${incoming} && tar -xzf - -C ${incoming} && `
      + `{ (cd ${incoming} && sha256sum -c --quiet SHA256SUMS) || { rm -rf ${incoming}; echo 'understudy: image hash mismatch on arrival' >&2; exit 3; }; } && `
      + `touch ${incoming}/last-used && { if [ -e ${key} ]; then rm -rf ${incoming}; else mv ${incoming} ${key}; fi; }`;
    const remote = await s.ssh.execStream(receive, { stdin: 'pipe', signal: o.signal, timeoutMs: 60 * 60_000 });
    remote.stdout.resume();
    // GNU tar: -S finds the holes of the sparse root.img (SEEK_HOLE), -h sends the linked files' content
    const tar = spawn('tar', ['-c', '-h', '-S', '-I', 'gzip -1', '-f', '-', '-C', stage, ...names], { stdio: ['ignore', 'pipe', 'pipe'] });
    let tarErr = '';
    tar.stderr.on('data', (c: Buffer) => { tarErr = (tarErr + c).slice(-4000); });
    const tarExit = new Promise<number | null>((r) => tar.on('close', (code) => r(code)));
    let sent = 0;
    const stdin = remote.stdin!;
    stdin.on('error', () => undefined); // reported through `done`
    const abort = () => tar.kill('SIGKILL');
    o.signal?.addEventListener('abort', abort, { once: true });
    try {
      for await (const chunk of tar.stdout) {
        sent += (chunk as Buffer).length;
        o.onProgress?.(sent);
        if (!stdin.write(chunk)) await new Promise<void>((r) => { stdin.once('drain', r); stdin.once('close', r); });
      }
      stdin.end();
      const [code, res] = await Promise.all([tarExit, remote.done]);
      if (o.signal?.aborted) throw new UnderstudyError('cancelled', `${label}: image upload cancelled`);
      if (code !== 0) throw new UnderstudyError('io', `packing the sandbox image for ${label} failed (tar exit ${code}): ${tarErr.trim()}`);
      if (res.exitCode !== 0) {
        throw new UnderstudyError('hypervisor', `${label}: receiving the sandbox image failed (exit ${res.exitCode ?? res.signal}): ${res.stderrTail.trim().split('\n').slice(-3).join('; ')}`);
      }
    } finally {
      o.signal?.removeEventListener('abort', abort);
      if (tar.exitCode === null) tar.kill('SIGKILL');
    }
    o.log?.(`${label}: sandbox image ${key.slice(0, 12)} sent (${Math.round(sent / 2 ** 20)} MiB compressed, checked there)`);
    return { sentBytes: sent };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
