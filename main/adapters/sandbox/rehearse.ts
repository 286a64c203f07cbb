// `rehearse`: capture map1 of TARGET, build the sandbox disk from it, boot it, run the upgrade and the
// checks inside over SSH, note package changes, capture map2 from inside the sandbox with the same
// capture code, shut down, and report delta = map2 - map1 minus sandbox-only edits. The host is only
// read (map1). Every stage has a timeout; whatever happens, the sandbox's VM, overlay, mirror server and
// temp dirs are gone when this returns. Serial console, command output and result.json stay in
// STORE/runs/<run>/.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnderstudyError, isUnderstudyError } from '../../core/domain/errors.ts';
import { diffMaps, sameEntry, type MapDiff } from '../../core/domain/map-diff.ts';
import type { Manifest } from '../../core/domain/manifest.ts';
import type { Hypervisor } from '../../core/ports/hypervisor.port.ts';
import type { RemoteShell } from '../../core/ports/remote-shell.port.ts';
import { capture, type CaptureRequest } from '../capture/capture.ts';
import { loadMap } from '../store/map-store.ts';
import { baseImageFor } from './disk-build.ts';
import { captureChanged } from './capture-changed.ts';
import { PACKAGE_LIST_CMD, diffPackages, parsePackageList, type PackageChanges } from './package-changes.ts';
import { isSandboxOnly } from './sandbox-edits.ts';
import { sameLogicalContent } from './logical-content.ts';
import { startSandbox, type Sandbox } from './sandbox-vm.ts';
import { withStageTimeout } from './stage-timeout.ts';

export const STAGE_TIMEOUTS_MS = {
  capture: 30 * 60_000, build: 20 * 60_000, boot: 6 * 60_000, upgrade: 30 * 60_000, check: 10 * 60_000,
  capture2: 20 * 60_000, shutdown: 60_000,
};

export interface RehearseRequest {
  /** Run id (default: a new one). */
  runId?: string;
  store: string;
  target: string;
  run: string;
  checks: string[];
  hypervisor: Hypervisor;
  mirror?: string;
  kernel?: string;
  initrd?: string;
  connect?: CaptureRequest['connect'];
  signal?: AbortSignal;
  timeouts?: Partial<typeof STAGE_TIMEOUTS_MS>;
  onStage?(stage: string, state: 'active' | 'done' | 'failed', seconds?: number): void;
  onOutput?(stream: 'stdout' | 'stderr', text: string, source: string): void;
}

export interface RehearseResult {
  run: string;
  runDir: string;
  target: string;
  map1: string;
  map2?: string;
  delta: MapDiff;
  packages: PackageChanges;
  checks: Array<{ cmd: string; ok: boolean; exitCode: number | null }>;
  hypervisor: string;
  accel?: string;
  timings: Record<string, number>;
  ok: boolean;
}

/**
 * mkfs.ext4 -d (e2fsprogs 1.47.0) keeps whole-second timestamps only, so an entry the sandbox never
 * touched comes back with map1's mtime cut to the second: that is the same entry, not a change.
 */
export const sameUpToDiskPrecision = (m1: string, m2: string): boolean => m2.endsWith('000000000') && m1.slice(0, -9) === m2.slice(0, -9);

/** delta = map2 - map1, without directory-mtime-only changes, sandbox-only edits, or what map2 excluded. */
export function sandboxDelta(map1: Manifest, map2: Manifest): MapDiff {
  const before = new Map(map1.entries.map((e) => [e.path, e]));
  const entries = map2.entries.map((e) => {
    const old = before.get(e.path);
    return old && old.mtimeNs !== e.mtimeNs && sameUpToDiskPrecision(old.mtimeNs, e.mtimeNs) ? { ...e, mtimeNs: old.mtimeNs } : e;
  });
  const skipped = map2.excluded.map((x) => x.path).filter((p) => p !== '');
  const keep = (k: string) => !isSandboxOnly(k) && !skipped.some((p) => k === p || k.startsWith(p + '/'));
  const d = diffMaps(map1, { ...map2, entries }, false);
  return { added: d.added.filter(keep), changed: d.changed.filter(keep), removed: d.removed.filter(keep) };
}

/**
 * sandboxDelta, and a changed file whose logical content is the same (mkfs.ext4 -d made it sparse, the
 * map hashes sparse files by their extents) is not a change. Reads those few objects from the store.
 */
export async function sandboxDeltaInStore(store: string, map1: Manifest, map2: Manifest): Promise<MapDiff> {
  const d = sandboxDelta(map1, map2);
  const before = new Map(map1.entries.map((e) => [e.path, e]));
  const after = new Map(map2.entries.map((e) => [e.path, e]));
  const changed: string[] = [];
  for (const p of d.changed) {
    const a = before.get(p)!, b = after.get(p)!;
    const onlyContentForm = sameEntry({ ...a, sha256: b.sha256, sparse: b.sparse, mtimeNs: b.mtimeNs }, b)
      && (a.mtimeNs === b.mtimeNs || sameUpToDiskPrecision(a.mtimeNs, b.mtimeNs));
    if (!(onlyContentForm && await sameLogicalContent(store, a, b))) changed.push(p);
  }
  return { ...d, changed };
}

export const newRunId = (): string => `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomBytes(3).toString('hex')}`;

export async function rehearse(req: RehearseRequest): Promise<RehearseResult> {
  const t = { ...STAGE_TIMEOUTS_MS, ...req.timeouts };
  const run = req.runId ?? newRunId();
  const runDir = join(req.store, 'runs', run);
  await mkdir(runDir, { recursive: true });
  const log = createWriteStream(join(runDir, 'output.log'));
  const result: RehearseResult = {
    run, runDir, target: req.target, map1: '', delta: { added: [], changed: [], removed: [] },
    packages: { upgraded: [], installed: [], removed: [] }, checks: [], hypervisor: req.hypervisor.kind, timings: {}, ok: false,
  };
  const stage = async <T>(name: string, ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const started = Date.now();
    req.onStage?.(name, 'active');
    log.write(`== ${name}\n`);
    try {
      const v = await withStageTimeout(name, ms, req.signal, fn);
      result.timings[name] = (Date.now() - started) / 1000;
      req.onStage?.(name, 'done', result.timings[name]);
      return v;
    } catch (e) {
      result.timings[name] = (Date.now() - started) / 1000;
      req.onStage?.(name, 'failed', result.timings[name]);
      throw e;
    }
  };
  const exec = async (shell: RemoteShell, cmd: string, source: string, signal: AbortSignal) => {
    log.write(`$ ${cmd}\n`);
    const out = (stream: 'stdout' | 'stderr') => (c: Uint8Array) => { log.write(c); req.onOutput?.(stream, Buffer.from(c).toString(), source); };
    return shell.exec(cmd, { signal, onStdout: out('stdout'), onStderr: out('stderr') });
  };
  const dpkg = async (shell: RemoteShell, signal: AbortSignal) => {
    const r = await shell.run(PACKAGE_LIST_CMD, { signal, timeoutMs: 120_000 });
    return parsePackageList(r.stdout);
  };

  let sandbox: Sandbox | undefined;
  try {
    const c1 = await stage('capture', t.capture, (signal) => capture({ store: req.store, target: req.target, connect: req.connect, signal }));
    result.map1 = c1.map;
    const map1 = (await loadMap(req.store, c1.map)).manifest;
    const base = await stage('build', t.build, (signal) => baseImageFor(req.store, c1.map, { kernel: req.kernel, initrd: req.initrd }, signal));
    const bootedAt = Date.now() / 1000 - 2; // the guest's clock comes from the RTC, in whole seconds
    sandbox = await stage('boot', t.boot, (signal) => startSandbox({
      hypervisor: req.hypervisor, base, runDir, mirror: req.mirror, sshTimeoutMs: t.boot, signal,
      log: (l) => log.write(l + '\n'),
    }));
    result.accel = sandbox.vm.accel;
    const sb = sandbox;
    const before = await dpkg(sb.shell, req.signal ?? new AbortController().signal);
    const up = await stage('upgrade', t.upgrade, (signal) => exec(sb.shell, req.run, 'run', signal));
    if (up.exitCode !== 0) {
      throw new UnderstudyError('remote-command', `the upgrade command failed in the sandbox (exit ${up.exitCode ?? up.signal}): ${req.run}`);
    }
    for (const cmd of req.checks) {
      const r = await stage('check', t.check, (signal) => exec(sb.shell, cmd, 'check', signal));
      result.checks.push({ cmd, ok: r.exitCode === 0, exitCode: r.exitCode });
    }
    result.packages = diffPackages(before, await dpkg(sb.shell, req.signal ?? new AbortController().signal));
    const c2 = await stage('capture2', t.capture2, (signal) => captureChanged({
      store: req.store, run, shell: sb.shell, map1, sinceEpochSec: bootedAt, signal,
    }));
    log.write(`capture2: ${c2.changedPaths} changed paths, ${c2.skippedDirs} unchanged directories taken from map1\n`);
    result.map2 = c2.map;
    result.delta = await sandboxDeltaInStore(req.store, map1, (await loadMap(req.store, c2.map)).manifest);
    await stage('shutdown', t.shutdown + 5000, async () => { await sb.close(t.shutdown); });
    sandbox = undefined;
    result.ok = result.checks.every((c) => c.ok);
    return result;
  } catch (e) {
    if (isUnderstudyError(e)) Object.assign(e, { details: { ...(e.details ?? {}), run, runDir } });
    throw e;
  } finally {
    await sandbox?.close(0).catch(() => undefined);
    await writeFile(join(runDir, 'result.json'), JSON.stringify(result, null, 2) + '\n').catch(() => undefined);
    await new Promise<void>((resolve) => log.end(resolve));
  }
}
