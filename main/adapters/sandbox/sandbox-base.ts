// The sandbox's own state before the upgrade: read over SSH once the sandbox has booted, before the
// upgrade command runs. It covers every path the edits touched (part known when the disk was built) and
// every path the boot itself wrote (known only now: the seed unit's key and host keys, the machine id,
// and whatever else a first boot does on that host: tmpfiles, sysusers, ldconfig, presets ...), runtime
// state excepted. capture2 decides each such path against it (effective-map2.ts): a path the upgrade did
// not change keeps the host's version, whatever the boot did to it. Contents go to the store as objects;
// the record itself (small) goes into the run's context with the sandbox handle, so it survives a resume.
import { Readable } from 'node:stream';
import type { Entry, Manifest } from '../../core/domain/manifest.ts';
import { HOST_VOLATILE_DIRS } from '../../core/domain/map-scope.ts';
import { parentKey } from '../../core/domain/swap-delta.ts';
import { bytesFromKey, keyFromBytes } from '../../core/domain/path-key.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { RemoteShell } from '../../core/ports/remote-shell.port.ts';
import { entryFromMember } from '../capture/capture-remote.ts';
import { shellQuote } from '../capture/remote-listing.ts';
import { readTar } from '../capture/tar-reader.ts';
import { storeMemberContent, TAR_CREATE_FLAGS } from '../capture/tar-content.ts';
import { ObjectWriter } from '../store/object-writer.ts';
import { ensureStore } from '../store/store-paths.ts';
import { EDITED_PATHS, isEdited, isRuntimeState, type EditPlan } from './sandbox-edits.ts';

export interface SandboxBase {
  /** Boot start, epoch seconds (guest clock): paths changed since then were written by the boot. */
  since: number;
  /** Path key -> the sandbox's own entry before the upgrade (file content in the store), null when absent. */
  entries: Record<string, Entry | null>;
}

/** How long the read waits for the boot to finish (systemctl is-system-running --wait) before going on. */
const SETTLE_SECONDS = 60;
const MAX_BASE_BYTES = 256 << 20;

const volatile = (k: string) => k.split('/')[0]! in HOST_VOLATILE_DIRS;
const nulList = (keys: string[]) => Buffer.concat(keys.flatMap((k) => [Buffer.from(bytesFromKey(k)), Buffer.from([0])]));
/** The NUL-terminated records of a command's output (an unterminated tail is dropped). */
const nulRecords = (out: Buffer): Buffer[] => {
  const recs: Buffer[] = [];
  for (let i = 0, j = out.indexOf(0); j >= 0; i = j + 1, j = out.indexOf(0, i)) recs.push(out.subarray(i, j));
  return recs;
};
const splitNul = (out: Buffer): string[] => nulRecords(out).filter((r) => r.length > 0).map((r) => keyFromBytes(r));

/** `find -printf '%s %P\\0'` records: [path key, size]. */
const splitSized = (out: Buffer): Array<[string, number]> => nulRecords(out).flatMap((r) => {
  const sp = r.indexOf(0x20);
  return sp > 0 && sp < r.length - 1 ? [[keyFromBytes(r.subarray(sp + 1)), Number(r.subarray(0, sp).toString())] as [string, number]] : [];
});

/** Before reading anything: the boot's writes too big to record fail the stage naming the largest. */
function tooBigSays(sized: Array<[string, number]>): void {
  const total = sized.reduce((n, [, b]) => n + b, 0);
  if (total <= MAX_BASE_BYTES) return;
  const largest = [...sized].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([k, b]) => `/${k} (${(b / 2 ** 20).toFixed(1)} MiB)`);
  throw new UnderstudyError('remote-command', `the sandbox's boot wrote ${(total / 2 ** 20).toFixed(0)} MiB in ${sized.length} path(s) `
    + `before the upgrade, over the ${MAX_BASE_BYTES >> 20} MiB understudy records as the sandbox's own state; largest: ${largest.join(', ')}`);
}

/** Runs a command with binary stdin/stdout; fails unless it exits 0 or `tolerate(code, stderr)`. */
async function runBinary(shell: RemoteShell, cmd: string, stdin: Buffer, signal: AbortSignal | undefined,
  tolerate: (code: number, stderr: string) => boolean = () => false): Promise<Buffer> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let size = 0;
  const r = await shell.exec(cmd, {
    signal, stdin, timeoutMs: 10 * 60_000,
    onStdout: (c) => { size += c.length; if (size <= MAX_BASE_BYTES) out.push(Buffer.from(c)); },
    onStderr: (c) => { err.push(Buffer.from(c)); },
  });
  if (size > MAX_BASE_BYTES) throw new UnderstudyError('remote-command', `the sandbox's own state before the upgrade is over ${MAX_BASE_BYTES >> 20} MiB`);
  const stderr = Buffer.concat(err).toString();
  if (r.exitCode !== 0 && (r.exitCode === null || !tolerate(r.exitCode, stderr))) {
    throw new UnderstudyError('remote-command', `reading the sandbox's own state before the upgrade failed (exit ${r.exitCode ?? r.signal}): ${stderr.trim().slice(0, 500)}`);
  }
  return Buffer.concat(out);
}

/** tar's exit 1 (a file changed while read) and 2 when all it says is that files went away meanwhile. */
const tarTolerates = (code: number, stderr: string) => code === 1
  || (code === 2 && stderr.split('\n').filter(Boolean).every((l) => /Cannot stat: No such file or directory$|^tar: Exiting with failure status/.test(l)));

export async function readSandboxBase(o: {
  store: string; shell: RemoteShell; map1: Manifest; plan: EditPlan; since: number; signal?: AbortSignal;
}): Promise<SandboxBase> {
  const since = Math.floor(o.since);
  // 1. what the boot wrote (after it settled: a unit still starting could write after the read)
  const listed = await runBinary(o.shell, `timeout ${SETTLE_SECONDS} systemctl is-system-running --wait >/dev/null 2>&1; `
    + `find / -xdev -newerct @${since} -printf '%s %P\\0'`, Buffer.alloc(0), o.signal);
  const sized = splitSized(listed).filter(([k]) => !volatile(k) && !isRuntimeState(k));
  tooBigSays(sized);
  const changed = sized.map(([k]) => k);
  const inMap1 = new Map(o.map1.entries.map((e) => [e.path, e]));
  // 2. what the edits touched, and the map's own edited paths (host keys ...): present or not
  const edited = [...o.plan.touched, ...o.plan.mkdirs, ...EDITED_PATHS.map((r) => r.pattern).filter((p) => !/[*]/.test(p)),
    ...o.map1.entries.filter((e) => isEdited(e.path)).map((e) => e.path)];
  // a path of map1 directly in a directory the boot changed may have been removed by the boot
  const changedSet = new Set(changed);
  const dirs = new Set(changed.filter((k) => inMap1.get(k)?.type === 'dir' || !inMap1.has(k)));
  const maybeGone = o.map1.entries.filter((e) => e.path !== '' && dirs.has(parentKey(e.path)!) && !changedSet.has(e.path)
    && !isRuntimeState(e.path)).map((e) => e.path);
  const ask = [...new Set([...edited, ...maybeGone])].filter((k) => !changedSet.has(k) && !volatile(k) && !isRuntimeState(k));
  const missing = new Set(ask.length ? splitNul(await runBinary(o.shell,
    `cd / && xargs -0 -r sh -c 'for p; do [ -e "$p" ] || [ -L "$p" ] || printf "%s\\0" "$p"; done' sh`, nulList(ask), o.signal)) : []);
  // 3. their entries and contents, in one tar
  const editedSet = new Set(edited);
  const read = [...changed, ...ask.filter((k) => editedSet.has(k) && !missing.has(k))];
  const entries: Record<string, Entry | null> = {};
  for (const k of missing) entries[k] = null;
  if (read.length === 0) return { since, entries };
  await ensureStore(o.store);
  const writer = new ObjectWriter(o.store);
  const tar = await runBinary(o.shell, `cd / && tar ${[...TAR_CREATE_FLAGS, '--no-recursion', '--hard-dereference', '--null', '--files-from=-']
    .map(shellQuote).join(' ')}`, nulList(read), o.signal, tarTolerates);
  await readTar(Readable.from([tar]), async (m, content) => {
    const e = entryFromMember(m);
    if (content) {
      const c = await storeMemberContent(writer, m, content);
      if (e) { e.sha256 = c.sha256; if (c.sparse) e.sparse = c.sparse; }
    }
    if (e) entries[e.path] = e;
  });
  await writer.finish();
  // a path that went away between the listing and tar counts as absent
  for (const k of read) if (!(k in entries)) entries[k] = null;
  return { since, entries };
}
