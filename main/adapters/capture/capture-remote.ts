// ssh:// capture: GNU tar runs on the host over ONE exec channel (SFTP is several times slower) and its
// stream is parsed here as it arrives, each file hashed and stored on the fly. Numeric owners, xattrs
// (security.capability, POSIX ACLs as system.posix_acl_*), sparse files (GNU sparse 1.0) and long or
// non-UTF-8 names all survive. A GNU find listing taken first makes re-captures incremental.
import { PassThrough, type Readable } from 'node:stream';
import type { Entry, Exclusion, Manifest } from '../../core/domain/manifest.ts';
import { HOST_VOLATILE_DIRS, mountOf, mountsUnder, parseMountInfo } from '../../core/domain/map-scope.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { keyFromBytes } from '../../core/domain/path-key.ts';
import type { ExecResult, RemoteShell } from '../../core/ports/remote-shell.port.ts';
import type { StreamingShell } from '../ssh/ssh-shell.ts';
import { ObjectWriter } from '../store/object-writer.ts';
import { ensureStore } from '../store/store-paths.ts';
import { recordPairs } from '../store/map-store.ts';
import { applyHardlinkGroups } from './entry-builder.ts';
import { readTar, type TarMember } from './tar-reader.ts';
import { storeMemberContent, TAR_CREATE_FLAGS } from './tar-content.ts';
import { listRemote, shellQuote, type ListedEntry } from './remote-listing.ts';
import { finishCapture, makeMeter, type CaptureOptions, type CaptureResult } from './capture-common.ts';


/** Unescapes a name as GNU tar prints it in diagnostics (C escapes, \ooo). */
function tarMessageName(s: string): Buffer {
  const map: Record<string, number> = { n: 10, t: 9, r: 13, '\\': 92, f: 12, v: 11, b: 8, a: 7, '?': 63 };
  const out: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x5c) { out.push(raw[i]!); continue; }
    const oct = raw.toString('latin1', i + 1, i + 4);
    if (/^[0-7]{3}$/.test(oct)) { out.push(parseInt(oct, 8)); i += 3; } else { const c = map[String.fromCharCode(raw[i + 1] ?? 0)]; out.push(c ?? 0x5c); if (c !== undefined) i++; }
  }
  return Buffer.from(out);
}

/** A file tar could not archive (it goes on with the rest, and exits 2 at the end). */
const TAR_UNREADABLE = /^tar: (.*): Cannot (open|read|stat): (.*)$/;
/** What tar prints about files it could not read or that moved while read, and nothing else. */
const TAR_READ_PROBLEM = /^tar: (.*: Cannot (open|read|stat): .*|.*: file changed as we read it|Exiting with failure status due to previous errors)$/;

/** A map entry for a tar member (content fields, sha256, are the caller's). */
export function entryFromMember(m: TarMember): Entry | undefined {
  const types: Record<string, Entry['type'] | undefined> = { file: 'file', dir: 'dir', symlink: 'symlink', link: 'file', fifo: 'fifo', chardev: 'chardev', blockdev: 'blockdev' };
  const type = types[m.type];
  if (!type) return undefined;
  const e: Entry = { path: keyFromBytes(m.name), type, mode: m.mode, uid: m.uid, gid: m.gid, mtimeNs: m.mtimeNs, size: type === 'file' ? m.size : 0 };
  if (m.type === 'symlink') e.target = keyFromBytes(m.linkname ?? Buffer.alloc(0));
  if (type === 'chardev' || type === 'blockdev') { e.rdevMajor = m.devmajor; e.rdevMinor = m.devminor; }
  if (Object.keys(m.xattrs).length) e.xattrs = m.xattrs;
  return e;
}


/** Starts tar on the host. Its stdout comes with back-pressure when the shell can stream (ssh, local): a
 *  store slower than the wire pauses the channel, and so tar, instead of buffering the host in memory.
 *  stop() ends the command (a failed parse must not leave tar writing into a channel nobody reads). */
async function startTar(shell: RemoteShell, cmd: string, stdin: Buffer, signal: AbortSignal | undefined,
  onStderr: (c: Uint8Array) => void): Promise<{ out: Readable; done: Promise<ExecResult>; stop(): void }> {
  const ac = new AbortController();
  const sig = signal ? AbortSignal.any([signal, ac.signal]) : ac.signal;
  const streaming = (shell as StreamingShell).execStream?.bind(shell);
  if (streaming) {
    const x = await streaming(cmd, { stdin: 'pipe', signal: sig });
    x.stderr.on('data', onStderr);
    x.stdin!.on('error', () => undefined); // tar may exit before reading all of its list
    x.stdin!.end(stdin);
    return { out: x.stdout, done: x.done, stop: () => ac.abort() };
  }
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const done = shell.exec(cmd, { signal: sig, stdin, onStdout: (c) => out.write(c), onStderr }).finally(() => out.end());
  done.catch(() => undefined); // looked at after the stream is read
  return { out, done, stop: () => { ac.abort(); out.destroy(); } };
}

export async function captureRemote(opts: CaptureOptions & { shell: RemoteShell; sudo: boolean; root?: string }): Promise<CaptureResult> {
  const started = Date.now();
  const root = opts.root ?? '/';
  const whole = root === '/';
  await ensureStore(opts.store);
  const probe = await opts.shell.run(`hostname && echo --- && cat /proc/self/mountinfo && (command -v tar >/dev/null || echo NO-TAR)`, { signal: opts.signal, timeoutMs: 60_000 });
  if (probe.exitCode !== 0 || probe.stdout.includes('NO-TAR')) {
    throw new UnderstudyError('remote-command', `${opts.target}: cannot probe host (need hostname, /proc and GNU tar): ${probe.stderr.trim() || probe.stdout.trim()}`);
  }
  const [host = '', mountText = ''] = probe.stdout.split('\n---\n');
  const allMounts = parseMountInfo(mountText);
  const mounts = mountsUnder(allMounts, root);
  const excluded: Exclusion[] = [];
  const starts = ['.'];
  for (const [rel, m] of mounts) {
    if (m.cls === 'real') starts.push(`./${rel}`);
    else excluded.push({ path: keyFromBytes(Buffer.from(rel)), reason: m.cls, detail: `${m.mount.fstype} ${m.mount.source}` });
  }
  const volatile = whole ? Object.entries(HOST_VOLATILE_DIRS) : [];
  for (const [rel, reason] of volatile) if (!excluded.some((x) => x.path === rel)) excluded.push({ path: rel, reason });
  const operator = (opts.excludes ?? []).map((x) => x.replace(/^\/+|\/+$/g, ''));
  for (const rel of operator) excluded.push({ path: keyFromBytes(Buffer.from(rel)), reason: 'operator' });
  opts.onStage?.('list');
  const listed = await listRemote(opts.shell, { root, starts, pruneKeep: volatile.map(([d]) => `./${d}`), pruneDrop: operator.map((d) => `./${d}`), sudo: opts.sudo, signal: opts.signal });

  // Incremental: a file is not read again when (path, size, mtime, ctime, inode) match the previous
  // map's stat index; a hardlink group is reused whole or read whole.
  const writer = new ObjectWriter(opts.store);
  const prev = opts.previous;
  await writer.preloadKnown();
  const prevByPath = new Map(prev?.manifest?.entries.map((e) => [e.path, e]));
  const keyOf = new Map(listed.map((l) => [l, keyFromBytes(l.rel)]));
  const reusable = async (l: ListedEntry): Promise<boolean> => {
    const key = keyOf.get(l)!, old = prevByPath.get(key);
    if (!old || prev!.index.get(key) !== l.statKey) return false;
    if (old.type === 'file') return Boolean(old.sha256) && await writer.has(old.sha256!);
    return old.type === 'hardlink' && prev!.index.get(old.linkTo!) === l.statKey;
  };
  const byIno = new Map<string, ListedEntry[]>();
  for (const l of listed) if (l.type === 'f') byIno.set(l.ino, [...(byIno.get(l.ino) ?? []), l]);
  const reused = new Set<ListedEntry>();
  for (const members of byIno.values()) {
    let all = true;
    for (const m of members) if (!(await reusable(m))) { all = false; break; }
    if (all) members.forEach((m) => reused.add(m));
  }
  const index: Record<string, string> = {};
  const byPath = new Map<string, Entry>();
  for (const l of reused) { const key = keyOf.get(l)!; byPath.set(key, { ...prevByPath.get(key)! }); index[key] = l.statKey; }
  for (const l of listed) if (l.type === 's') excluded.push({ path: keyOf.get(l)!, reason: 'socket' });
  const toRead = listed.filter((l) => l.type !== 's' && !reused.has(l));
  const listedByKey = new Map(listed.map((l) => [keyOf.get(l)!, l]));
  const cmd = `${opts.sudo ? 'sudo -n ' : ''}tar ${[...TAR_CREATE_FLAGS, '--no-recursion', '--null', '--verbatim-files-from', '-C', root, '-T', '-'].map(shellQuote).join(' ')}`;
  const stdin = Buffer.concat(toRead.flatMap((l) => [Buffer.from('./'), l.rel, Buffer.from([0])]));

  const meter = makeMeter(opts, 0);
  const groups = new Map<string, Entry[]>();
  let stderr = '';
  const tar = await startTar(opts.shell, cmd, stdin, opts.signal, (c) => { stderr += Buffer.from(c).toString(); });
  opts.onStage?.('content');
  try {
    await readTar(tar.out, async (m, content) => {
      const e = entryFromMember(m);
      if (!e) return;
      if (m.type === 'link') {
        const key = keyFromBytes(m.linkname ?? Buffer.alloc(0));
        const first = byPath.get(key);
        if (!first || first.type !== 'file') return;
        Object.assign(e, { mode: first.mode, uid: first.uid, gid: first.gid, mtimeNs: first.mtimeNs, xattrs: first.xattrs });
        groups.set(key, [...(groups.get(key) ?? [first]), e]);
        const l = listedByKey.get(e.path);
        if (l && index[key] === l.statKey) index[e.path] = l.statKey;
      } else if (content) {
        const r = await storeMemberContent(writer, m, content, meter.add);
        Object.assign(e, { sha256: r.sha256, size: r.size });
        if (r.sparse) e.sparse = r.sparse;
        meter.stored(r.stored);
        const l = listedByKey.get(e.path);
        if (l && l.mtimeNs === e.mtimeNs) index[e.path] = l.statKey;
      }
      byPath.set(e.path, e);
    });
    const res = await tar.done;
    // tar exits 2 after files it could not open or read, having archived the rest: those are listed as
    // unreadable below, like a dir: capture does; any other error fails the capture
    const onlyUnreadable = res.exitCode === 2 && stderr.trim() !== '' && stderr.trim().split('\n').every((l) => TAR_READ_PROBLEM.test(l));
    if (res.exitCode !== 0 && res.exitCode !== 1 && !onlyUnreadable) {
      throw new UnderstudyError('remote-command', `${opts.target}: tar exited ${res.exitCode ?? res.signal}: ${stderr.trim().split('\n').slice(-5).join('; ')}`);
    }
    await writer.finish();
  } catch (err) {
    await writer.discardPending();
    tar.stop();
    throw err;
  }
  const unstable: string[] = [];
  for (const line of stderr.split('\n')) {
    const moved = /^tar: (.*): file changed as we read it$/.exec(line);
    if (moved) unstable.push(keyFromBytes(tarMessageName(moved[1]!.replace(/^\.\//, ''))));
    const unread = TAR_UNREADABLE.exec(line);
    if (unread) excluded.push({ path: keyFromBytes(tarMessageName(unread[1]!.replace(/^\.\//, ''))), reason: 'unreadable', detail: unread[3] });
  }
  applyHardlinkGroups(groups);
  const manifest: Manifest = {
    version: 1, target: opts.target, host: host.trim(), capturedAt: new Date(started).toISOString(),
    entries: [...byPath.values()], excluded, unstable,
    filesystems: [{ path: '', fstype: mountOf(allMounts, root)?.fstype ?? 'unknown' },
      ...[...mounts].filter(([, m]) => m.cls === 'real').map(([p, m]) => ({ path: keyFromBytes(Buffer.from(p)), fstype: m.mount.fstype, device: m.mount.source }))],
  };
  return finishCapture(opts, manifest, recordPairs(index), meter, started);
}
