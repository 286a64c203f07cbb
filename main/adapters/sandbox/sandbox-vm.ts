// One sandbox VM's life: disks for the run, boot, wait for SSH (timeout shows the last 40 serial lines),
// a reboot onto another kernel from the same disks (the reboot rehearsal), and a teardown that always
// runs (clean shutdown, else kill; dispose; its network closed; work files removed). Its only way out is the
// network it is given (adapters/proxy/sandbox-network.ts: understudy's repository proxy, one guestfwd).
// Where it runs is a SandboxSite: this machine (the default: disks in a temp dir, the guestfwd relay a local
// process, SSH on our loopback), or a pool member (adapters/pool/member-site.ts: the same, reached through
// the member's SSH connection). The rest of the life is the same wherever it runs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnderstudyError, isUnderstudyError } from '../../core/domain/errors.ts';
import type { Hypervisor, VmHandle } from '../../core/ports/hypervisor.port.ts';
import { relayCommand } from '../proxy/relay-command.ts';
import { proxyGuestForward } from '../proxy/guest-forward.ts';
import { waitForSsh } from '../ssh/wait-for-ssh.ts';
import { generateSshKeyPair } from '../ssh/ssh-keypair.ts';
import type { SshShell } from '../ssh/ssh-shell.ts';
import { runDisks, type BaseImage } from './disk-build.ts';
import { writeOwnerFile } from '../local/process-owner.ts';
import { exitedWithin } from '../qemu/vm-console.ts';

/** What the guest may reach: the repository proxy's endpoint on this machine, closed with the sandbox. */
export interface SandboxNetworkLink {
  endpoint: { host: string; port: number };
  close(): Promise<void>;
}

/** A TCP endpoint on this machine (the repository proxy) that guest connections are carried to. */
export interface Endpoint { host: string; port: number }

/** Where a sandbox runs, and how its files, forwards and console get there. */
export interface SandboxSite {
  readonly hypervisor: Hypervisor;
  /** For logs: 'this machine', 'pool member hv1' ... */
  readonly where: string;
  prepare(o: { base: BaseImage; publicKey: string; runDir: string; signal?: AbortSignal; log?(line: string): void }): Promise<PreparedSite>;
}

export interface PreparedSite {
  /** Paths as the hypervisor reads them. */
  kernel: string;
  initrd?: string;
  overlay: string;
  seed: string;
  serialLog: string;
  /** The guestfwd program line that carries one guest connection to `to`. */
  guestForward(to: Endpoint): Promise<string>;
  /** A port on this machine's loopback that reaches `port` on the hypervisor's loopback. */
  reach(port: number): Promise<number>;
  /** Told once the guest's SSH answered (a member stops following the console live). */
  booted?(): Promise<void>;
  /** Scratch space on this machine for the run (files for a later boot are written there first). */
  workDir: string;
  /** A later boot's kernel, initrd and console (the reboot rehearsal), from this machine's paths to the
   *  hypervisor's; a member gets the files sent and its console followed into `serialLog` here. */
  placeBoot(b: { kernel: string; initrd?: string; serialLog: string }, signal?: AbortSignal): Promise<{ kernel: string; initrd?: string; serialLog: string }>;
  /** Why the site went away under the sandbox (a pool member's connection dropped), once it did. */
  lost(): string | undefined;
  /** Removes what prepare made (idempotent). */
  dispose(): Promise<void>;
}

/** This machine: the default site. */
export function localSite(hypervisor: Hypervisor): SandboxSite {
  return {
    hypervisor, where: 'this machine',
    async prepare({ base, publicKey, runDir }) {
      const work = await mkdtemp(join(tmpdir(), 'understudy-sandbox-'));
      try {
        writeOwnerFile(work); // a killed run's is removed by the next start (app/stage-services/stale-files.ts)
        const disks = await runDisks(base, work, publicKey);
        return {
          kernel: base.kernel, initrd: base.initrd, overlay: disks.overlay, seed: disks.seed, serialLog: join(runDir, 'serial.log'),
          guestForward: async (to) => relayCommand(to.host, to.port),
          reach: async (port) => port,
          workDir: work,
          placeBoot: async (b) => b,
          lost: () => undefined,
          dispose: () => rm(work, { recursive: true, force: true }),
        };
      } catch (e) {
        await rm(work, { recursive: true, force: true });
        throw e;
      }
    },
  };
}

export interface SandboxOptions {
  /** Where it runs; default this machine with `hypervisor`. */
  site?: SandboxSite;
  hypervisor?: Hypervisor;
  base: BaseImage;
  /** Run directory: the serial console is kept there. */
  runDir: string;
  /** Closed with the sandbox, also when it fails to start. */
  network?: SandboxNetworkLink;
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
  /** This sandbox's own temp dir on this machine; removed by close(). */
  readonly workDir: string;
  /** Where it runs (SandboxSite.where). */
  readonly where: string;
  /** Why its site (a pool member) was lost under it, once it was. */
  lost(): string | undefined;
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

export async function startSandbox(o: SandboxOptions): Promise<Sandbox> {
  const site = o.site ?? (o.hypervisor ? localSite(o.hypervisor) : undefined);
  if (!site) throw new UnderstudyError('internal', 'startSandbox needs a site or a hypervisor');
  let prepared: PreparedSite | undefined;
  let vm: VmHandle | undefined;
  let shell: SshShell | undefined;
  const teardown = async (timeoutMs: number) => {
    let clean = false;
    try {
      await shell?.close().catch(() => undefined);
      if (vm) clean = prepared?.lost() ? false : await vm.shutdown(timeoutMs).catch(() => false);
    } finally {
      await vm?.dispose().catch(() => undefined);
      await o.network?.close().catch(() => undefined);
      await prepared?.dispose().catch(() => undefined);
    }
    return { clean };
  };
  try {
    const keys = generateSshKeyPair();
    prepared = await site.prepare({ base: o.base, publicKey: keys.public, runDir: o.runDir, signal: o.signal, log: o.log });
    // the site decides what carries a guest connection to the proxy (a local relay, a member's SSH forward)
    const command = o.network ? await prepared.guestForward(o.network.endpoint) : undefined;
    const p = prepared;
    const boot = async (b: { kernel: string; initrd?: string; cmdline: string; serialLog: string }, signal?: AbortSignal) => {
      vm = await site.hypervisor.start({
        name: 'sandbox', ...b,
        disks: [{ path: p.overlay, format: 'qcow2' }, { path: p.seed, format: 'raw' }],
        memoryMiB: o.memoryMiB ?? 1024, cpus: o.cpus ?? 2, forwardSsh: true,
        guestForwards: command ? [proxyGuestForward(command)] : [],
      }, signal);
      return vm;
    };
    const waitForShell = async (v: VmHandle, timeoutMs: number, signal?: AbortSignal) => {
      const port = await p.reach(v.sshPort);
      o.log?.(`sandbox started on ${site.where} (${site.hypervisor.kind}, ${v.accel}), ssh on 127.0.0.1:${port}`);
      try {
        shell = await waitForSsh(port, keys.private, timeoutMs, signal);
      } catch (e) {
        if (p.lost()) throw new UnderstudyError('hypervisor-lost', `${site.where} was lost while the sandbox booted: ${p.lost()}`);
        if (isUnderstudyError(e) && e.code === 'timeout') {
          throw new UnderstudyError('timeout', `the sandbox did not answer SSH within ${Math.round(timeoutMs / 1000)} s; ` +
            `last 40 serial console lines:\n${await v.serialTail(40)}`);
        }
        throw e;
      }
      await p.booted?.();
    };
    await waitForShell(await boot({ kernel: p.kernel, initrd: p.initrd, cmdline: o.base.cmdline, serialLog: p.serialLog }, o.signal), o.sshTimeoutMs, o.signal);
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
      const placed = await p.placeBoot({ kernel: r.kernel, initrd: r.initrd, serialLog: r.serialLog }, r.signal);
      const startedAtMs = Date.now();
      const next = await boot({ ...placed, cmdline: r.cmdline }, r.signal);
      r.onStarted?.(next);
      await waitForShell(next, r.sshTimeoutMs, r.signal);
      return { cleanShutdown, startedAtMs };
    };
    return {
      get vm() { return vm!; }, get shell() { return shell!; }, workDir: p.workDir, where: site.where, lost: () => p.lost(),
      close: teardown, reboot,
    };
  } catch (e) {
    await teardown(0);
    const why = prepared?.lost();
    if (why && !(isUnderstudyError(e) && e.code === 'hypervisor-lost')) {
      throw new UnderstudyError('hypervisor-lost', `${site.where} was lost while the sandbox started: ${why}`);
    }
    throw e;
  }
}
