// One sandbox VM's life: disks for the run, boot, wait for SSH (timeout shows the last 40 serial lines),
// a reboot onto another kernel from the same disks (the reboot rehearsal), and a teardown that always
// runs (clean shutdown, else kill; dispose; mirror closed; work dir removed).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnderstudyError, isUnderstudyError } from '../../core/domain/errors.ts';
import type { Hypervisor, VmHandle } from '../../core/ports/hypervisor.port.ts';
import { serveMirror, type MirrorServer } from '../mirror/mirror-server.ts';
import { relayCommand, relayCommandForUrl } from '../mirror/relay-command.ts';
import { waitForSsh } from '../ssh/wait-for-ssh.ts';
import { generateSshKeyPair } from '../ssh/ssh-keypair.ts';
import type { SshShell } from '../ssh/ssh-shell.ts';
import { runDisks, type BaseImage } from './disk-build.ts';
import { exitedWithin } from '../qemu/vm-console.ts';

export const MIRROR_GUEST_ADDR = '10.0.2.100';

export interface SandboxOptions {
  hypervisor: Hypervisor;
  base: BaseImage;
  /** Run directory: the serial console is kept there. */
  runDir: string;
  mirror?: string;
  memoryMiB?: number;
  cpus?: number;
  sshTimeoutMs: number;
  signal?: AbortSignal;
  log?(line: string): void;
}

export interface Sandbox {
  /** The running VM and a shell in it (both replaced by reboot()). */
  readonly vm: VmHandle;
  readonly shell: SshShell;
  /** This sandbox's own temp dir (overlay, seed disk); removed by close(). */
  readonly workDir: string;
  /** Clean shutdown (ACPI, up to timeoutMs) else kill; always disposes and removes every temp file. */
  close(timeoutMs: number): Promise<{ clean: boolean }>;
  /** Powers the guest off (systemctl poweroff, else ACPI, else kill) and boots it again from the same disks
   *  with another kernel, initrd and command line; resolves once SSH answers. */
  reboot(o: RebootSpec): Promise<RebootOutcome>;
}

export interface RebootSpec {
  kernel: string;
  initrd?: string;
  cmdline: string;
  /** The new boot's console file (the first boot's stays as it was). */
  serialLog: string;
  poweroffTimeoutMs: number;
  sshTimeoutMs: number;
  signal?: AbortSignal;
  /** Called once the new VM runs (the boot's clock starts there). */
  onStarted?(vm: VmHandle): void;
}

export interface RebootOutcome {
  /** The guest powered itself off (false: it had to be killed, after a sync). */
  cleanShutdown: boolean;
  /** Date.now() when the new VM started. */
  startedAtMs: number;
}

async function mirrorForward(mirror: string | undefined): Promise<{ command?: string; server?: MirrorServer }> {
  if (!mirror) return {};
  if (/^[a-z]+:\/\//i.test(mirror)) return { command: relayCommandForUrl(mirror) };
  const server = await serveMirror(mirror);
  return { command: relayCommand('127.0.0.1', server.port), server };
}

export async function startSandbox(o: SandboxOptions): Promise<Sandbox> {
  const work = await mkdtemp(join(tmpdir(), 'understudy-sandbox-'));
  let server: MirrorServer | undefined;
  let vm: VmHandle | undefined;
  let shell: SshShell | undefined;
  const teardown = async (timeoutMs: number) => {
    let clean = false;
    try {
      await shell?.close().catch(() => undefined);
      if (vm) clean = await vm.shutdown(timeoutMs).catch(() => false);
    } finally {
      await vm?.dispose().catch(() => undefined);
      await server?.close().catch(() => undefined);
      await rm(work, { recursive: true, force: true });
    }
    return { clean };
  };
  try {
    const keys = generateSshKeyPair();
    const disks = await runDisks(o.base, work, keys.public);
    const fwd = await mirrorForward(o.mirror);
    server = fwd.server;
    const boot = async (b: { kernel: string; initrd?: string; cmdline: string; serialLog: string }, signal?: AbortSignal) => {
      vm = await o.hypervisor.start({
        name: 'sandbox', ...b,
        disks: [{ path: disks.overlay, format: 'qcow2' }, { path: disks.seed, format: 'raw' }],
        memoryMiB: o.memoryMiB ?? 1024, cpus: o.cpus ?? 2, forwardSsh: true,
        guestForwards: fwd.command ? [{ guestAddr: MIRROR_GUEST_ADDR, guestPort: 80, command: fwd.command }] : [],
      }, signal);
      o.log?.(`sandbox started (${o.hypervisor.kind}, ${vm.accel}), ssh on 127.0.0.1:${vm.sshPort}`);
      return vm;
    };
    const waitForShell = async (v: VmHandle, timeoutMs: number, signal?: AbortSignal) => {
      try {
        shell = await waitForSsh(v.sshPort, keys.private, timeoutMs, signal);
      } catch (e) {
        if (isUnderstudyError(e) && e.code === 'timeout') {
          throw new UnderstudyError('timeout', `the sandbox did not answer SSH within ${Math.round(timeoutMs / 1000)} s; ` +
            `last 40 serial console lines:\n${await v.serialTail(40)}`);
        }
        throw e;
      }
    };
    await waitForShell(await boot({ kernel: o.base.kernel, initrd: o.base.initrd, cmdline: o.base.cmdline, serialLog: join(o.runDir, 'serial.log') }, o.signal), o.sshTimeoutMs, o.signal);
    const reboot = async (r: RebootSpec): Promise<RebootOutcome> => {
      const old = vm!;
      // the disks must hold everything before the VM goes: sync, then ask the guest to power off
      await shell!.exec('sync; systemctl poweroff || poweroff', { signal: r.signal, timeoutMs: 30_000 }).catch(() => undefined);
      await shell!.close().catch(() => undefined);
      shell = undefined;
      let cleanShutdown = await exitedWithin(old.exited, r.poweroffTimeoutMs);
      if (!cleanShutdown) cleanShutdown = await old.shutdown(Math.min(30_000, r.poweroffTimeoutMs)).catch(() => false);
      await old.dispose().catch(() => undefined);
      vm = undefined;
      if (r.signal?.aborted) throw new UnderstudyError('cancelled', 'sandbox reboot cancelled');
      const startedAtMs = Date.now();
      const next = await boot({ kernel: r.kernel, initrd: r.initrd, cmdline: r.cmdline, serialLog: r.serialLog }, r.signal);
      r.onStarted?.(next);
      await waitForShell(next, r.sshTimeoutMs, r.signal);
      return { cleanShutdown, startedAtMs };
    };
    return {
      get vm() { return vm!; }, get shell() { return shell!; }, workDir: work, close: teardown, reboot,
    };
  } catch (e) {
    await teardown(0);
    throw e;
  }
}
