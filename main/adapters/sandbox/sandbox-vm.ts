// One sandbox VM's life: disks for the run, boot, wait for SSH (timeout shows the last 40 serial lines),
// and a teardown that always runs (clean shutdown, else kill; dispose; mirror closed; work dir removed).
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
  vm: VmHandle;
  shell: SshShell;
  /** Clean shutdown (ACPI, up to timeoutMs) else kill; always disposes and removes every temp file. */
  close(timeoutMs: number): Promise<{ clean: boolean }>;
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
    vm = await o.hypervisor.start({
      name: 'sandbox', kernel: o.base.kernel, initrd: o.base.initrd, cmdline: o.base.cmdline,
      disks: [{ path: disks.overlay, format: 'qcow2' }, { path: disks.seed, format: 'raw' }],
      memoryMiB: o.memoryMiB ?? 1024, cpus: o.cpus ?? 2, forwardSsh: true, serialLog: join(o.runDir, 'serial.log'),
      guestForwards: fwd.command ? [{ guestAddr: MIRROR_GUEST_ADDR, guestPort: 80, command: fwd.command }] : [],
    }, o.signal);
    o.log?.(`sandbox started (${o.hypervisor.kind}, ${vm.accel}), ssh on 127.0.0.1:${vm.sshPort}`);
    try {
      shell = await waitForSsh(vm.sshPort, keys.private, o.sshTimeoutMs, o.signal);
    } catch (e) {
      if (isUnderstudyError(e) && e.code === 'timeout') {
        throw new UnderstudyError('timeout', `the sandbox did not answer SSH within ${Math.round(o.sshTimeoutMs / 1000)} s; ` +
          `last 40 serial console lines:\n${await vm.serialTail(40)}`);
      }
      throw e;
    }
    const v = vm, s = shell;
    return { vm: v, shell: s, close: teardown };
  } catch (e) {
    await teardown(0);
    throw e;
  }
}
