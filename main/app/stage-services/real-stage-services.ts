// The real StageServices: capture (maps), sandbox (disk, VM, SSH), swap (agent + journal) composed for
// ONE run: a new instance per run holds that run's identity, options, run directory, sandbox and caches
// (runs side by side in a batch or the server never share one). Each stage honors io.signal and is safe
// to re-enter (see core/workflow/stage-services.ts).
import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UnderstudyError, isUnderstudyError } from '../../core/domain/errors.ts';
import type { Placement, RunInput, SandboxRef } from '../../core/workflow/run-types.ts';
import type { StageIo, StageServices } from '../../core/workflow/stage-services.ts';
import { capture } from '../../adapters/capture/capture.ts';
import { captureChanged } from '../../adapters/sandbox/capture-changed.ts';
import { loadMap, saveMap } from '../../adapters/store/map-store.ts';
import { SANDBOX_CMDLINE, baseImageFor, type BaseImage } from '../../adapters/sandbox/disk-build.ts';
import { startSandbox } from '../../adapters/sandbox/sandbox-vm.ts';
import { readSandboxBase, type SandboxBase } from '../../adapters/sandbox/sandbox-base.ts';
import { bootStartAfter } from '../../adapters/sandbox/boot-clock.ts';
import { planSandboxEdits } from '../../adapters/sandbox/sandbox-edits.ts';
import { PACKAGE_LIST_CMD, diffPackages, parsePackageList } from '../../adapters/sandbox/package-changes.ts';
import { STAGE_TIMEOUTS_MS, withStageTimeout } from '../../adapters/sandbox/stage-timeout.ts';
import { diffMaps } from '../../core/domain/map-diff.ts';
import { openTargetHost } from './open-target-host.ts';
import { swap as runSwap } from '../../adapters/swap/swap.ts';
import { rollbackLatest, revertible } from '../../adapters/swap/rollback.ts';
import { rollbackLeftovers } from '../../core/domain/rollback-leftovers.ts';
import { restartAfterRollback } from './restart-after-rollback.ts';
import { effectiveMap2, withChosen } from './effective-map2.ts';
import { keptBackConflicts } from './kept-back.ts';
import { poolFor } from './sandbox-pools.ts';
import type { PoolLease } from '../../adapters/pool/sandbox-pool.ts';
import { imageSums } from '../../adapters/pool/member-images.ts';
import type { Sandbox } from '../../adapters/sandbox/sandbox-vm.ts';
import { registerSandbox, releaseRunSandboxes, sandboxFor, sandboxLive } from './sandbox-registry.ts';
import { DEFAULT_LIBVIRT_URI, destroyOrphanedDomain } from '../../adapters/libvirt/libvirt-hypervisor.ts';
import { ownerFileStale } from '../../adapters/local/process-owner.ts';
import { sshConnector } from './ssh-connector.ts';
import { previewConflicts } from './drift-preview.ts';
import { restartAfterSwap } from './restart.ts';
import { holdConnection } from './held-connection.ts';
import type { RemoteShell } from '../../core/ports/remote-shell.port.ts';
import { preflightItems } from './preflight.ts';
import { followSerial } from './serial-follower.ts';
import { streamed } from './streamed-command.ts';
import { rehearseRebootInSandbox } from './reboot-sandbox.ts';
import { networkChoices, startSandboxNetwork, type SandboxNetwork } from '../../adapters/proxy/sandbox-network.ts';
import { failuresSince, networkSummary } from './network-summary.ts';

/** Every stage has a timeout with a clear message; a stage that ignores its signal cannot hang the run. */
const timed = <T>(label: string, ms: number, io: StageIo, fn: (signal: AbortSignal) => Promise<T>): Promise<T> =>
  withStageTimeout(label, ms, io.signal, fn);

const opt = (o: Record<string, unknown>, k: string): string | undefined => (typeof o[k] === 'string' ? o[k] as string : undefined);

/** How a sandbox ran, kept in its SandboxRef. */
interface SandboxVm { kind: 'qemu' | 'libvirt'; name: string; uri?: string }

/**
 * What is left of a sandbox whose orchestrator died (its ref comes from the run's saved context): QEMU
 * died with it (parent-death signal), but a libvirt domain outlives it and is destroyed here once its
 * owner is provably gone (domain-owner.ts); the sandbox's temp dir (overlay, seed disk) is removed.
 * Nothing of a sandbox this process runs is touched.
 */
async function disposeRemains(ref: SandboxRef | undefined, io: StageIo): Promise<void> {
  if (!ref || sandboxLive(ref.id)) return;
  const vm = ref.vm as Partial<SandboxVm> | undefined;
  if (vm?.kind === 'libvirt' && vm.name && await destroyOrphanedDomain(vm.uri ?? DEFAULT_LIBVIRT_URI, vm.name)) {
    io.log('info', 'sandbox', `destroyed libvirt domain ${vm.name}, left running by the interrupted attempt`);
  }
  const work = typeof ref.work === 'string' ? ref.work : undefined;
  if (work && basename(work).startsWith('understudy-sandbox-') && ownerFileStale(work)) {
    await rm(work, { recursive: true, force: true });
    io.log('info', 'sandbox', `removed ${work}, left by the interrupted attempt`);
  }
}

export function realStageServices(input: RunInput, store: string): StageServices {
  const o = input.options;
  const sshChoice = { identity: opt(o, 'identity'), acceptNewHostKey: o.acceptNewHostKey === true };
  const connect = sshConnector(store, sshChoice);
  /** Opened before the swap, closed after the restart (held-connection.ts). */
  let held: RemoteShell | undefined;
  const dropHeld = async () => { const h = held; held = undefined; await h?.close().catch(() => undefined); };
  const runDir = join(store, 'runs', input.runId);
  let dpkgBefore: Map<string, string> | undefined;
  // --prefer host|sandbox PATH given up front; choices made at review (resolutions) win over them
  const preferred = (o.prefer ?? {}) as Record<string, 'host' | 'sandbox'>;
  // --kernel/--initrd, the same for the build and a boot re-entered after a resume
  const kernelOverride = { kernel: opt(o, 'kernel'), initrd: opt(o, 'initrd') };
  let built: { map1: string; base: BaseImage } | undefined;
  // the sandbox's repository proxy (closed with the sandbox); its report goes into the run's result
  let net: SandboxNetwork | undefined;
  // the slot on a hypervisor of the run's pool: taken while 'waiting for a hypervisor', held by the
  // sandbox, freed when it is released
  let lease: PoolLease | undefined;
  const freeLease = () => { lease?.release(); lease = undefined; };
  const pool = () => poolFor(o, store);
  const baseFor = async (map1: string, signal: AbortSignal) => built?.map1 === map1 ? built.base
    : await baseImageFor(store, map1, kernelOverride, signal);

  /** A slot in the pool: placement prefers a member that holds this map's image (remote members only). */
  async function place(map1: string, io: StageIo, signal: AbortSignal): Promise<{ lease: PoolLease; waitedSeconds: number }> {
    const p = pool();
    const started = Date.now();
    const imageKey = p.hasRemote ? (await imageSums(await baseFor(map1, signal))).key : undefined;
    const unsubscribe = p.onLog((line) => io.log('info', 'pool', line));
    try {
      const l = await p.acquire({
        imageKey, signal, avoid: Array.isArray(o.avoidMembers) ? o.avoidMembers as string[] : undefined,
        onWait: (why) => { io.log('info', 'pool', why); io.progress({ step: why }); },
      });
      if (signal.aborted) { l.release(); throw new UnderstudyError('cancelled', 'cancelled while waiting for a hypervisor'); }
      const waitedSeconds = (Date.now() - started) / 1000;
      io.log('info', 'pool', `sandbox placed on ${l.site.where}${waitedSeconds >= 1 ? ` after waiting ${waitedSeconds.toFixed(0)} s` : ''}`);
      return { lease: l, waitedSeconds };
    } finally { unsubscribe(); }
  }

  /** A sandbox stage's failure once its pool member was lost: 'hypervisor-lost', naming the member. */
  const lostAs = (sb: Sandbox, what: string, e: unknown): unknown => {
    const why = sb.lost();
    if (!why || (isUnderstudyError(e) && (e.code === 'cancelled' || e.code === 'hypervisor-lost'))) return e;
    return new UnderstudyError('hypervisor-lost', `${sb.where} was lost during ${what}: ${why}`, { member: lease?.member });
  };
  const onSandbox = async <T>(id: string, what: string, fn: (sb: Sandbox) => Promise<T>): Promise<T> => {
    const sb = sandboxFor(id, input.runId);
    try { return await fn(sb); } catch (e) { throw lostAs(sb, what, e); }
  };

  /** Boots the sandbox from the base image (the one buildImage made in this process, else looked up again
   *  when the run was resumed at this stage). */
  async function boot(map1: string, previous: SandboxRef | undefined, io: StageIo, signal: AbortSignal) {
    await releaseRunSandboxes(input.runId, 0); // a re-entered boot starts clean
    await disposeRemains(previous, io);
    const base = await baseFor(map1, signal);
    // a slot whose member was lost while the run waited to boot is no slot: placed again
    if (lease?.lost()) {
      io.log('info', 'pool', `pool member ${lease.member} was lost before the sandbox booted (${lease.lost()}): placing it again`);
      freeLease();
    }
    // a run resumed at this stage has no slot yet; a new slot is a new placement for the run's context
    let placement: Placement | undefined;
    if (!lease) {
      const p = await place(map1, io, signal);
      lease = p.lease;
      placement = { member: p.lease.member, waitedSeconds: Math.round(p.waitedSeconds * 10) / 10 };
    }
    const site = lease.site;
    const hypervisor = site.hypervisor;
    await mkdir(runDir, { recursive: true });
    // the console file is (re)created by the hypervisor; follow it for the whole boot
    const bootStartedAt = await bootStartAfter(base.rootImg); // never within the image's own second
    // what the sandbox may reach: the host's own repositories (map1's apt sources), checked before it boots
    net = await startSandboxNetwork({
      store, map1: (await loadMap(store, map1)).manifest, choices: networkChoices(o), log: (l) => io.log('info', 'network', l),
    });
    const serial = followSerial(join(runDir, 'serial.log'), (line) => io.log('serial', 'console', line));
    const sb = await startSandbox({
      site, base, runDir, network: net, sshTimeoutMs: STAGE_TIMEOUTS_MS.boot, signal,
      log: (l) => io.log('info', 'sandbox', l),
    }).finally(() => serial.stop());
    // what a resumed attempt needs to destroy what is left of this one (see disposeRemains)
    const vm: SandboxVm = { kind: hypervisor.kind, name: sb.vm.id, ...(hypervisor.kind === 'libvirt' ? { uri: (hypervisor as { uri?: string }).uri } : {}) };
    const id = registerSandbox(input.runId, sb);
    // the sandbox's own version of what the edits and the boot touched, before the upgrade (capture2's base)
    const m1 = (await loadMap(store, map1)).manifest;
    const t0 = Date.now();
    const own = await readSandboxBase({ store, shell: sb.shell, map1: m1, plan: planSandboxEdits(m1), since: bootStartedAt, signal });
    io.log('info', 'sandbox', `recorded the sandbox's own version of ${Object.keys(own.entries).length} path(s) the edits and the boot `
      + `touched, in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const ref: SandboxRef = { id, sshPort: sb.vm.sshPort, bootStartedAt, vm, work: sb.workDir, base: own };
    return { sandbox: ref, hypervisor: hypervisor.kind, accel: sb.vm.accel, ...(placement ? { placement } : {}) };
  }

  return {
    async preflight({ input: i }, io) {
      return { items: await preflightItems(i, store, connect, io.signal) };
    },

    async captureHost({ target }, io) {
      return timed('capturing the host', STAGE_TIMEOUTS_MS.capture, io, async (signal) => {
        const r = await capture({
          store, target, connect, signal,
          excludes: Array.isArray(o.exclude) ? o.exclude as string[] : [],
          onProgress: (p) => io.progress({ step: p.step, current: p.current, total: p.total, bytesPerSec: p.bytesPerSec, etaSec: p.etaSec }),
        });
        io.log('info', 'capture', `map1 ${r.map}: ${r.files} files, ${r.bytes} bytes, ${r.bytesRead} read in ${r.seconds.toFixed(1)} s`);
        return { map1: r.map };
      });
    },

    async buildImage({ map1 }, io) {
      return timed('building the sandbox disk', STAGE_TIMEOUTS_MS.build, io, async (signal) => {
        const base = await baseImageFor(store, map1, kernelOverride, signal);
        built = { map1, base };
        io.log('info', 'build', `sandbox disk ${base.cached ? 'reused' : 'built'} in ${base.seconds.toFixed(1)} s`);
        return { image: base.dir };
      });
    },

    async placeSandbox({ map1 }, io) {
      if (lease) return { placement: { member: lease.member, waitedSeconds: 0 } }; // re-entered: the slot is ours
      // no timeout: waiting for a busy pool is not a failure; cancel still ends it
      const p = await place(map1, io, io.signal);
      lease = p.lease;
      return { placement: { member: p.lease.member, waitedSeconds: Math.round(p.waitedSeconds * 10) / 10 } };
    },

    async bootSandbox({ map1, previous }, io) {
      // the sandbox waits for SSH up to the boot timeout (and then shows the console); the stage's own limit
      // is a little longer, for the disks and a stuck hypervisor call
      return timed('booting the sandbox', STAGE_TIMEOUTS_MS.boot + 120_000, io, async (signal) => {
        try { return await boot(map1, previous, io, signal); } catch (e) {
          // the member went away under the boot (the image upload, the disks, the domain): named as lost
          const why = lease?.lost();
          if (!why || (isUnderstudyError(e) && (e.code === 'cancelled' || e.code === 'hypervisor-lost'))) throw e;
          throw new UnderstudyError('hypervisor-lost', `pool member ${lease!.member} was lost while the sandbox booted: ${why}`, { member: lease!.member });
        }
      });
    },

    async runUpgrade({ sandbox, command }, io) {
      const limit = typeof o.upgradeTimeoutMin === 'number' && o.upgradeTimeoutMin > 0 ? o.upgradeTimeoutMin * 60_000 : STAGE_TIMEOUTS_MS.upgrade;
      return timed('the upgrade in the sandbox', limit, io, (signal) => onSandbox(sandbox.id, 'the upgrade', async (sb) => {
        dpkgBefore = parsePackageList((await sb.shell.run(PACKAGE_LIST_CMD, { signal, timeoutMs: 120_000 })).stdout);
        const startedAt = new Date().toISOString();
        const r = await streamed(sb.shell, command, 'run', io, signal, runDir);
        const network = net?.proxy.report();
        if (network) io.log('info', 'network', networkSummary(network));
        // a repository the orchestrator could not reach is the error, even when apt carried on without it
        const unreachable = network ? failuresSince(network, startedAt) : '';
        if (unreachable) {
          throw new UnderstudyError('remote-command', `the sandbox could not reach the host's repositories: ${unreachable}` +
            `${r.exitCode !== 0 ? ` (the upgrade command then failed, exit ${r.exitCode ?? r.signal})` : ''}`, { network });
        }
        if (r.exitCode !== 0) {
          throw new UnderstudyError('remote-command', `the upgrade command failed in the sandbox (exit ${r.exitCode ?? r.signal}): ${command}`,
            network ? { network } : undefined);
        }
        const after = parsePackageList((await sb.shell.run(PACKAGE_LIST_CMD, { signal, timeoutMs: 120_000 })).stdout);
        const d = diffPackages(dpkgBefore, after);
        return {
          packages: {
            upgraded: d.upgraded,
            installed: d.installed.map((p) => ({ name: p.name, to: p.version })),
            removed: d.removed.map((p) => ({ name: p.name, from: p.version })),
          },
          ...(network ? { network } : {}),
        };
      }));
    },

    async runChecks({ sandbox, checks }, io) {
      return timed('the checks in the sandbox', STAGE_TIMEOUTS_MS.check, io, (signal) => onSandbox(sandbox.id, 'the checks', async (sb) => {
        const results = [];
        for (const cmd of checks) {
          const r = await streamed(sb.shell, cmd, 'check', io, signal, runDir);
          results.push({ cmd, ok: r.exitCode === 0, exitCode: r.exitCode });
        }
        const network = net?.proxy.report();
        return { checks: results, ...(network ? { network } : {}) };
      }));
    },

    async captureSandbox({ sandbox, map1 }, io) {
      return timed('capturing the sandbox', STAGE_TIMEOUTS_MS.capture2, io, (signal) => onSandbox(sandbox.id, 'the second capture', async (sb) => {
        const m1 = (await loadMap(store, map1)).manifest;
        // only what changed since the sandbox booted is read; unchanged directories come from map1
        const since = typeof sandbox.bootStartedAt === 'number' ? sandbox.bootStartedAt : 0;
        const c2 = await captureChanged({ store, run: input.runId, shell: sb.shell, map1: m1, sinceEpochSec: since, signal });
        io.log('info', 'capture2', `${c2.changedPaths} changed paths read; ${c2.skippedDirs} unchanged directories taken from map1`);
        const raw = (await loadMap(store, c2.map)).manifest;
        const eff = await effectiveMap2(store, m1, raw, sandbox.base as SandboxBase | undefined, c2.skipped);
        const map2 = await saveMap(store, eff.manifest);
        const d = diffMaps(m1, eff.manifest, false);
        io.log('info', 'capture2', `map2 ${map2}: ${d.added.length} added, ${d.changed.length} changed, ${d.removed.length} removed`);
        for (const k of eff.keptBack) io.log('info', 'capture2', `sandbox-only /${k.path}: ${k.outcome} (${k.sandbox})`);
        return { map2, delta: d, keptBack: eff.keptBack };
      }));
    },

    async rehearseReboot({ sandbox, map1, map2, checks, reason, because }, io) {
      const limit = STAGE_TIMEOUTS_MS.shutdown + 2 * STAGE_TIMEOUTS_MS.boot + STAGE_TIMEOUTS_MS.check;
      return timed('the reboot rehearsal', limit, io, (signal) => onSandbox(sandbox.id, 'the reboot rehearsal', async (sb) => {
        const reboot = await rehearseRebootInSandbox({
          store, runDir, sandbox: sb, map1, map2, checks, reason, because, sandboxCmdline: SANDBOX_CMDLINE, io, signal,
          bootTimeoutMs: STAGE_TIMEOUTS_MS.boot, settleTimeoutMs: STAGE_TIMEOUTS_MS.boot,
        });
        // the reboot is a new VM (a new libvirt domain): the ref names it, for a resume to dispose of
        return { reboot, sandbox: { ...sandbox, sshPort: sb.vm.sshPort, vm: { ...(sandbox.vm as SandboxVm), name: sb.vm.id } } };
      }));
    },

    async releaseSandbox({ sandbox }, io) {
      // every sandbox of this run, including one a cancelled boot registered after the run moved on; stopped
      // at once: its overlay is thrown away (a minimal host without logind ignores the ACPI button, and a
      // clean shutdown waited 60 s for nothing); the console log stays in the run's directory
      await releaseRunSandboxes(input.runId, 0);
      freeLease(); // the sandbox is gone: its slot goes to the next run waiting for a hypervisor
      await disposeRemains(sandbox, io); // resumed after its orchestrator died: what is left of its sandbox
    },

    async leftovers() {
      await dropHeld(); // a run that ended before its restart stage
      const left = (await releaseRunSandboxes(input.runId, 0)).map((id) => `sandbox ${id}`);
      if (lease) left.push(`a slot on pool member ${lease.member}`);
      freeLease();
      return left;
    },

    async findConflicts({ target, map1, map2, keptBack }) {
      const host = await openTargetHost(target, store, sshChoice);
      try {
        const [a, b] = await Promise.all([loadMap(store, map1), loadMap(store, map2)]);
        const drift = await previewConflicts(host, store, a.manifest, b.manifest);
        return { conflicts: [...drift, ...keptBackConflicts(keptBack ?? [])].filter((c) => !preferred[c.path]) };
      } finally { await host.close(); }
    },

    async swap({ target, map1, map2: reviewed, resolutions, keptBack }, io) {
      const host = await openTargetHost(target, store, sshChoice);
      try {
        const prefer = { ...preferred, ...resolutions };
        const [a, r2] = await Promise.all([loadMap(store, map1), loadMap(store, reviewed)]);
        // the upgrade's version of the kept-back paths the operator chose: the same map on every re-entry
        const chosen = withChosen(r2.manifest, keptBack ?? [], prefer);
        const b = chosen ? { id: await saveMap(store, chosen), manifest: chosen } : r2;
        if (chosen) io.log('info', 'swap', `map ${b.id}: map2 with the upgrade's version of ${(keptBack ?? []).filter((k) => prefer[k.path] === 'sandbox' && k.ifChosen).map((k) => `/${k.path}`).join(', ')}`);
        const map2 = b.id;
        // re-entered after a crash: a committed swap of this map pair is not applied twice
        const done = (await revertible(host, store)).find((r) => r.map1 === map1 && r.map2 === map2);
        if (done) return { swap: { files: 0, bytesSent: 0, seconds: 0, windowSeconds: 0 }, map2 };
        held ??= await holdConnection(target, connect); // for the restart, should the swap stop new logins
        const r = await runSwap({
          host, store, map1: a, map2: b, prefer: new Map(Object.entries(prefer)), signal: io.signal,
          onTx: (txid) => io.log('info', 'swap', `transaction ${txid}`),
        });
        return { swap: { files: r.files, bytesSent: r.bytesSent, seconds: r.seconds, windowSeconds: r.windowSeconds }, map2 };
      } finally { await host.close(); }
    },

    async restart({ target, reboot, delta }, io) {
      const r = await restartAfterSwap(target, reboot, delta, io, connect, held);
      // on a failure the rollback comes next: a restart that failed may leave the host refusing new logins
      await dropHeld();
      return r;
    },

    async checkHealth({ target, health }, io) {
      if (!health.length) return { health: [] };
      const host = await openTargetHost(target, store, sshChoice);
      try {
        const r = await host.health(health, io.signal);
        for (const h of r) io.log(h.ok ? 'stdout' : 'stderr', 'health', `${h.ok ? 'ok' : 'FAILED'} (exit ${h.exitCode}) ${h.cmd}\n${h.output}`);
        return { health: r.map((h) => ({ cmd: h.cmd, ok: h.ok, exitCode: h.exitCode, output: h.output })) };
      } finally { await host.close(); }
    },

    async rollback({ target, map1, reboot }, io) {
      // after a failed restart, through the connection held from before the swap (new logins may fail)
      const fresh = () => openTargetHost(target, store, sshChoice, io.signal);
      const host = await (held ? openTargetHost(target, store, sshChoice, io.signal, held).catch(fresh) : fresh());
      try {
        const stack = await revertible(host, store);
        if (!stack.some((r) => r.beforeMap === map1)) return; // nothing of this run landed (or already reverted)
        const r = await rollbackLatest({ host, store, to: map1 });
        for (const line of rollbackLeftovers(r)) io.log('info', 'rollback', line);
        // the host runs its old version again only once what the rollback changed is restarted (or rebooted)
        // (the files are back either way: a restart that fails is said, not turned into a failed rollback)
        await restartAfterRollback({ store, target, from: stack[0]!.afterMap, to: r.restoredMap, reboot, ssh: sshChoice, io, held }).then(
          (again) => io.log('info', 'rollback', again.rebooted ? 'rebooted into what the rollback put back'
            : `restarted after the rollback: ${again.restarted.join(', ') || 'nothing to restart'}`),
          (e: Error) => io.log('stderr', 'rollback', `rolled back, but restarting what it changed failed (${e.message}): restart those services or reboot the host`));
      } finally {
        await host.close();
        await dropHeld();
      }
    },
  };
}

