// The reboot rehearsal on a real sandbox (stage `rebooting`). The kernel, initrd and arguments are the
// ones the host's boot configuration takes next, read from map2 in the store (the very bytes the swap
// will put on the host); the sandbox powers off and boots them directly from its own disk (now map2),
// with the console followed live: a kernel panic, an initramfs shell or systemd's emergency mode ends the
// wait at once. Once SSH answers: `uname -r`, `systemctl is-system-running --wait` (bounded), the failed
// units (those already failed before the reboot are listed apart), and the --check commands again. On a
// host whose init is not systemd (before and after), SSH, the kernel and the checks are the verdict.
// Every way it can go wrong is a report with ok:false and what the console said; the caller turns that
// into a failed check (exit 4, host untouched).
import { appendFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { bootStopLine, failuresFromConsole, withoutAnsi } from '../../core/domain/boot-console.ts';
import { isUnderstudyError } from '../../core/domain/errors.ts';
import type { Entry, Manifest } from '../../core/domain/manifest.ts';
import { resolveMapFile } from '../../core/domain/map-resolve.ts';
import {
  chooseRebootKernel, sandboxBootArgs, unknownBootDevices, uuidsIn, type RebootKernel,
} from '../../core/domain/reboot-kernel.ts';
import type { CheckResult, RebootReport } from '../../core/workflow/run-types.ts';
import { NO_SYSTEMD, rebootProblems } from '../../core/workflow/reboot-rehearsal.ts';
import type { StageIo } from '../../core/workflow/stage-services.ts';
import type { Sandbox } from '../../adapters/sandbox/sandbox-vm.ts';
import type { VmHandle } from '../../core/ports/hypervisor.port.ts';
import { loadMap } from '../../adapters/store/map-store.ts';
import { mapFileText } from '../../adapters/store/map-file-text.ts';
import { objectPath } from '../../adapters/store/store-paths.ts';
import { writeEntryContent } from '../../adapters/restore/restore-map.ts';
import { followSerial } from './serial-follower.ts';
import { streamed } from './streamed-command.ts';

export interface RebootRehearsalArgs {
  store: string;
  runDir: string;
  sandbox: Sandbox;
  map1: string;
  map2: string;
  checks: string[];
  reason: string;
  because: string[];
  /** The sandbox's own kernel arguments (root disk, serial console). */
  sandboxCmdline: string;
  io: StageIo;
  signal: AbortSignal;
  /** Until SSH answers after the reboot. */
  bootTimeoutMs: number;
  /** For `systemctl is-system-running --wait` once SSH answers. */
  settleTimeoutMs: number;
}

const CONSOLE_TAIL = 40;
/** After a console line that ends the boot, the lines that follow (failed units) are still worth having. */
const STOP_GRACE_MS = 3000;

/** The kernel the host boots next, from map2's /boot and GRUB configuration. */
async function kernelOf(store: string, m1: Manifest, m2: Manifest, byPath: Map<string, Entry>) {
  const bootNames = m2.entries.filter((e) => e.type === 'file' && /^boot\/[^/]+$/.test(e.path)).map((e) => e.path.slice(5));
  const grubKey = ['boot/grub/grub.cfg', 'boot/grub2/grub.cfg'].find((k) => resolveMapFile(byPath, k));
  const grubCfg = grubKey ? await mapFileText(store, byPath, grubKey) : undefined;
  const grubEnv = grubKey ? await mapFileText(store, byPath, grubKey.replace(/grub\.cfg$/, 'grubenv')) : undefined;
  return chooseRebootKernel({
    bootNames, grubCfg, grubEnv, bootIsSeparate: m1.filesystems.some((f) => f.path === 'boot'),
    resolveFile: (k) => resolveMapFile(byPath, k),
  });
}

/** Filesystem UUIDs the host's own configuration names: map1's fstab, crypttab and GRUB config, map2's fstab. */
async function knownUuids(store: string, m1: Manifest, m2: Map<string, Entry>): Promise<Set<string>> {
  const b1 = new Map(m1.entries.map((e) => [e.path, e]));
  const texts = await Promise.all([
    ...['etc/fstab', 'etc/crypttab', 'boot/grub/grub.cfg', 'boot/grub2/grub.cfg'].map((k) => mapFileText(store, b1, k)),
    mapFileText(store, m2, 'etc/fstab'), mapFileText(store, m2, 'etc/crypttab'),
  ]);
  return new Set(texts.flatMap((t) => (t ? uuidsIn(t) : [])));
}

/** Kernel and initrd(s) out of the store into the sandbox's work dir (several initrds: one concatenated cpio). */
async function writeBootFiles(store: string, byPath: Map<string, Entry>, k: RebootKernel, dir: string) {
  const kernel = join(dir, 'reboot-vmlinuz');
  const initrd = k.initrds.length ? join(dir, 'reboot-initrd.img') : undefined;
  await rm(kernel, { force: true });
  await writeEntryContent(store, byPath.get(k.kernel)!, kernel);
  if (initrd) {
    await rm(initrd, { force: true });
    if (k.initrds.length === 1) await writeEntryContent(store, byPath.get(k.initrds[0]!)!, initrd);
    else for (const key of k.initrds) await appendFile(initrd, await readFile(objectPath(store, byPath.get(key)!.sha256!)));
  }
  return { kernel, initrd };
}

const failedUnitsCmd = "systemctl list-units --state=failed --plain --no-legend --no-pager | awk '{print $1}'";
/** systemd runs as init (sd_booted(3)'s test). */
const SYSTEMD_IS_INIT = 'test -d /run/systemd/system';
const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean);

export async function rehearseRebootInSandbox(a: RebootRehearsalArgs): Promise<RebootReport> {
  const { io, sandbox, signal } = a;
  const [{ manifest: m1 }, { manifest: m2 }] = await Promise.all([loadMap(a.store, a.map1), loadMap(a.store, a.map2)]);
  const byPath = new Map(m2.entries.map((e) => [e.path, e]));
  const base = { rehearsed: true, reason: a.reason, because: a.because };
  const choice = await kernelOf(a.store, m1, m2, byPath);
  if ('error' in choice) {
    if (!byPath.has('boot') || !m2.entries.some((e) => /^boot\/vmlinuz-/.test(e.path))) {
      return { ...base, rehearsed: false, reason: `not rehearsed: ${choice.error}, so there is no boot of the host's own to rehearse` };
    }
    return { ...base, ok: false, failure: choice.error };
  }
  const cmdline = sandboxBootArgs(choice.args, a.sandboxCmdline);
  const kernel = { ...(choice.version ? { version: choice.version } : {}), path: choice.kernel, initrds: choice.initrds, chosenBy: choice.chosenBy, cmdline };
  const report = { ...base, kernel };
  const shell = sandbox.shell;
  const sandboxUuid = (await shell.run('findmnt -no UUID /', { signal, timeoutMs: 30_000 }).catch(() => undefined))?.stdout.trim();
  const unknown = unknownBootDevices(choice, await knownUuids(a.store, m1, byPath));
  if (unknown.length) {
    const own = sandboxUuid && unknown.some((u) => u.toLowerCase() === sandboxUuid.toLowerCase())
      ? ' It is the sandbox\'s own disk: the GRUB configuration was regenerated inside the sandbox.' : '';
    return { ...report, ok: false, failure: `${choice.chosenBy} needs filesystem UUID ${unknown.join(', ')}, which none of the host's `
      + `/etc/fstab, /etc/crypttab or current GRUB configuration names: the host would not find it at boot.${own}` };
  }
  const isInit = async (sh: typeof shell) => (await sh.run(SYSTEMD_IS_INIT, { signal, timeoutMs: 30_000 })).exitCode === 0;
  const systemdBefore = await isInit(shell);
  const failedBefore = systemdBefore ? lines((await shell.run(failedUnitsCmd, { signal, timeoutMs: 60_000 })).stdout) : [];
  const files = await writeBootFiles(a.store, byPath, choice, sandbox.workDir);
  io.log('info', 'reboot', `rebooting the sandbox into ${choice.version ?? choice.kernel} (${choice.chosenBy}); kernel arguments: ${cmdline}`);

  // the console, followed live; a line that ends the boot stops the wait for SSH
  const serialLog = join(a.runDir, 'serial-reboot.log');
  await rm(serialLog, { force: true });
  const tail: string[] = [];
  const stop = new AbortController();
  let stopReason: string | undefined;
  const endBoot = (why: string) => {
    if (stopReason) return;
    stopReason = why;
    setTimeout(() => stop.abort(), STOP_GRACE_MS).unref();
  };
  const follower = followSerial(serialLog, (line) => {
    io.log('serial', 'console', line);
    tail.push(withoutAnsi(line));
    if (tail.length > 4000) tail.splice(0, tail.length - 4000);
    const why = bootStopLine(line);
    if (why) endBoot(why);
  });
  let stopped: Promise<void> | undefined;
  const serial = { stop: () => (stopped ??= follower.stop()) };
  const failed = async (failure: string, extra: Partial<RebootReport> = {}): Promise<RebootReport> => {
    // a guest stuck in emergency mode or a panic ignores the power button: stop it now, not at release
    const vm: VmHandle | undefined = sandbox.vm;
    await vm?.kill().catch(() => undefined);
    await serial.stop();
    return {
      ...report, ok: false, failure, failedBefore,
      failedUnits: extra.failedUnits ?? failuresFromConsole(tail), consoleTail: tail.slice(-CONSOLE_TAIL).join('\n'), ...extra,
    };
  };
  let startedAtMs = Date.now();
  try {
    const r = await sandbox.reboot({
      ...files, cmdline, serialLog, poweroffTimeoutMs: 90_000, sshTimeoutMs: a.bootTimeoutMs,
      signal: AbortSignal.any([signal, stop.signal]),
      onStarted: (vm) => { startedAtMs = Date.now(); void vm.exited.then(() => endBoot('the sandbox stopped during its boot')); },
    });
    startedAtMs = r.startedAtMs;
    if (!r.cleanShutdown) io.log('stderr', 'reboot', 'the sandbox did not power off by itself; it was stopped after a sync');
  } catch (e) {
    if (signal.aborted) { await serial.stop(); throw e; }
    if (stopReason) return failed(`the sandbox did not reach a running system: ${stopReason}`);
    if (isUnderstudyError(e) && e.code === 'timeout') {
      return failed(`the sandbox did not answer SSH within ${Math.round(a.bootTimeoutMs / 1000)} s of its reboot`);
    }
    await serial.stop();
    throw e;
  }
  try {
    const s = sandbox.shell;
    const running = (await s.run('uname -r', { signal, timeoutMs: 30_000 })).stdout.trim();
    const settleSec = Math.max(10, Math.round(a.settleTimeoutMs / 1000));
    const systemdAfter = await isInit(s);
    let systemState = NO_SYSTEMD;
    if (systemdAfter) {
      const st = await s.run(`timeout ${settleSec} systemctl is-system-running --wait`, { signal, timeoutMs: a.settleTimeoutMs + 30_000 });
      systemState = st.stdout.trim().split('\n').pop() || `unknown (exit ${st.exitCode})`;
    }
    const bootSeconds = (Date.now() - startedAtMs) / 1000;
    const after = systemdAfter ? lines((await s.run(failedUnitsCmd, { signal, timeoutMs: 60_000 })).stdout) : [];
    const failedUnits = after.filter((u) => !failedBefore.includes(u));
    const checks: CheckResult[] = [];
    for (const cmd of a.checks) {
      const r = await streamed(s, cmd, 'check', io, signal, a.runDir);
      checks.push({ cmd, ok: r.exitCode === 0, exitCode: r.exitCode });
    }
    await serial.stop();
    const got = { running, bootSeconds, systemState, failedUnits, failedBefore, checks };
    const settled = systemState === 'running' || systemState === 'degraded';
    const jobs = systemdAfter && !settled
      ? lines((await s.run('systemctl list-jobs --no-legend --no-pager | head -n 10', { signal, timeoutMs: 30_000 })).stdout) : [];
    const problems = rebootProblems({
      ...(choice.version ? { expected: choice.version } : {}), running, systemdBefore, systemdAfter,
      ...(systemdAfter ? { systemState } : {}), settleSeconds: settleSec, jobs, failedUnits, checks,
    });
    if (!problems.length) return { ...report, ...got, ok: true };
    return { ...report, ...got, ok: false, failure: problems.join('; '), consoleTail: tail.slice(-CONSOLE_TAIL).join('\n') };
  } finally {
    await serial.stop();
  }
}
