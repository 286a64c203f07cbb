// Hypervisor port on qemu-system-x86_64, no daemon (the embedded default).
//   const hv = new QemuHypervisor();
//   const vm = await hv.start(spec, signal)   // resolves once QEMU runs (QMP answered), not when the guest is up
//   vm.sshPort -> waitForSsh(vm.sshPort, key, ...) (main/adapters/ssh); vm.accel says kvm or tcg
//   await vm.shutdown(60_000) || await vm.kill(); await vm.dispose()   // dispose alone also stops it
// Per VM a temp dir holds the QMP socket and pid file; dispose() removes it. A QEMU still running when
// this Node process exits is killed (SIGKILL) and its temp dir removed, so nothing outlives us; and
// should this process be killed outright (kill -9, OOM killer), QEMU gets SIGKILL from the kernel as
// its parent dies (setpriv --pdeathsig), so no sandbox keeps running unowned (its temp dir stays, marked
// with its owner: the next start removes it, see app/stage-services/stale-files.ts).
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { Accel, Hypervisor, VmHandle, VmSpec } from '../../core/ports/hypervisor.port.ts';
import { freeLoopbackPort } from './free-port.ts';
import { exitedWithin, serialTailOf } from './vm-console.ts';
import { resolveAccel } from './kvm-probe.ts';
import { spawnDyingWithUs } from './spawn-dying-with-us.ts';
import { QmpClient } from './qmp-client.ts';
import { buildQemuArgs, checkSpec } from './qemu-args.ts';
import { writeOwnerFile } from '../local/process-owner.ts';

export const QEMU_BINARY = 'qemu-system-x86_64';
const START_ATTEMPTS = 3;
const QMP_TIMEOUT_MS = 15_000;

const live = new Set<ChildProcess>();
const liveDirs = new Set<string>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
  for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
});

async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

export class QemuHypervisor implements Hypervisor {
  readonly kind = 'qemu' as const;

  async start(spec: VmSpec, signal?: AbortSignal): Promise<VmHandle> {
    checkSpec(spec);
    for (const f of [spec.kernel, spec.initrd, ...spec.disks.map((d) => d.path)]) {
      if (f !== undefined && !existsSync(f)) throw new UnderstudyError('hypervisor', `VM ${spec.name}: ${f} does not exist`);
    }
    const cancelled = () => new UnderstudyError('cancelled', `VM ${spec.name}: start cancelled`);
    if (signal?.aborted) throw cancelled();
    const { accel, reason } = await resolveAccel(spec.accel ?? 'auto', spec.kernel);
    mkdirSync(dirname(spec.serialLog), { recursive: true });
    const id = `${spec.name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40)}-${randomBytes(4).toString('hex')}`;
    const dir = await mkdtemp(join(tmpdir(), `understudy-qemu-${id}-`));
    liveDirs.add(dir);
    writeOwnerFile(dir);
    let lastError = '';
    for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      if (signal?.aborted) { await removeDir(dir); throw cancelled(); }
      const sshPort = spec.forwardSsh ? await freeLoopbackPort() : 0;
      const args = buildQemuArgs(spec, { accel, sshPort, qmpSocket: join(dir, 'qmp.sock'), pidFile: join(dir, 'qemu.pid') });
      const vm = new QemuVm(id, accel, reason, sshPort, dir, spec.serialLog, spawnDyingWithUs(QEMU_BINARY, args));
      try {
        await vm.connectQmp(signal);
        return vm;
      } catch (e) {
        await vm.kill();
        lastError = vm.stderrText() || (e as Error).message;
        if (signal?.aborted) { await removeDir(dir); throw cancelled(); }
        // Lost the race for the port we picked: pick another.
        if (!/host forwarding rule/i.test(lastError)) break;
      }
    }
    await removeDir(dir);
    throw new UnderstudyError('hypervisor', `VM ${spec.name}: QEMU did not start: ${lastError.trim()}`, { accel });
  }
}

export class QemuVm implements VmHandle {
  readonly exited: Promise<void>;
  private qmp: QmpClient | undefined;
  private stderr = '';
  private running = true;
  private disposed = false;

  constructor(
    readonly id: string, readonly accel: Accel, readonly accelReason: string, readonly sshPort: number,
    private readonly dir: string, private readonly serialLog: string, private readonly child: ChildProcess,
  ) {
    live.add(child);
    child.stderr?.on('data', (c: Buffer) => { this.stderr = (this.stderr + c.toString()).slice(-8000); });
    this.exited = new Promise((resolve) => {
      const done = () => { this.running = false; live.delete(child); this.qmp?.close(); resolve(); };
      child.once('exit', done);
      child.once('error', (e) => { this.stderr += e.message; done(); });
    });
  }

  get pid(): number | undefined { return this.child.pid; }
  get isRunning(): boolean { return this.running; }
  stderrText(): string { return this.stderr; }

  async connectQmp(signal?: AbortSignal): Promise<void> {
    const qmp = QmpClient.connect(join(this.dir, 'qmp.sock'), QMP_TIMEOUT_MS, signal);
    const died = this.exited.then(() => { throw new Error(`QEMU exited: ${this.stderr.trim()}`); });
    this.qmp = await Promise.race([qmp, died]);
  }

  serialTail(lines: number): Promise<string> {
    return serialTailOf(this.serialLog, lines);
  }

  async shutdown(timeoutMs: number): Promise<boolean> {
    if (!this.running) return true;
    try { await this.qmp?.execute('system_powerdown'); } catch { /* exited meanwhile */ }
    return exitedWithin(this.exited, timeoutMs);
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    if (this.qmp) {
      try { await this.qmp.execute('quit', undefined, 2000); } catch { /* the timer's SIGKILL follows */ }
    } else this.child.kill('SIGKILL');
    await this.exited;
    clearTimeout(timer);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.kill();
    this.qmp?.close();
    await removeDir(this.dir);
  }
}
