// A host VM that reboots the way a physical machine does: each boot loads the kernel its own disk says
// (what GRUB's default entry does on a stock Debian host: the newest /boot/vmlinuz-*, or GRUB's menu when
// there is one, by core/domain/reboot-kernel.ts), not the kernel QEMU was started with. QEMU runs with
// -no-reboot, so a reboot of the guest ends the process; the "firmware" then reads /boot from the disk
// (qemu-img convert + debugfs, the guest being down) and starts QEMU again on the same overlay and the same
// SSH port, so the host keeps its address (ssh://root@127.0.0.1:PORT) across reboots.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildQemuArgs } from '../../../main/adapters/qemu/qemu-args.ts';
import { freeLoopbackPort } from '../../../main/adapters/qemu/free-port.ts';
import { resolveAccel } from '../../../main/adapters/qemu/kvm-probe.ts';
import { spawnDyingWithUs } from '../../../main/adapters/qemu/spawn-dying-with-us.ts';
import { chooseRebootKernel } from '../../../main/core/domain/reboot-kernel.ts';
import type { StockHostImage } from '../../../main/adapters/qemu/image-cache.ts';

export interface Boot { kernel: string; startedAt: number }

export class FirmwareVm {
  readonly boots: Boot[] = [];
  private proc?: ChildProcess;
  private stopping = false;
  private rebooting?: Promise<void>;

  private constructor(readonly image: StockHostImage, readonly workDir: string, readonly sshPort: number,
    private readonly accel: 'kvm' | 'tcg') {}

  get target(): string { return `ssh://root@127.0.0.1:${this.sshPort}`; }

  static async start(image: StockHostImage, workDir: string): Promise<FirmwareVm> {
    mkdirSync(workDir, { recursive: true });
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', image.rootImg, join(workDir, 'root.qcow2')]);
    const { accel } = await resolveAccel('auto', image.kernel);
    const vm = new FirmwareVm(image, workDir, await freeLoopbackPort(), accel);
    vm.launch(image.kernel, image.initrd);
    return vm;
  }

  private launch(kernel: string, initrd: string | undefined): void {
    const n = this.boots.length;
    const args = buildQemuArgs({
      name: `release-host-${n}`, disks: [{ path: join(this.workDir, 'root.qcow2'), format: 'qcow2' }], kernel,
      ...(initrd ? { initrd } : {}), cmdline: this.image.cmdline, memoryMiB: 2048, cpus: 2, forwardSsh: true,
      serialLog: join(this.workDir, `serial-${n}.log`),
    }, { accel: this.accel, sshPort: this.sshPort, qmpSocket: join(this.workDir, `qmp-${n}.sock`), pidFile: join(this.workDir, `qemu-${n}.pid`) });
    this.boots.push({ kernel, startedAt: Date.now() });
    // dies with the test process, even a killed one: no host VM left running unowned
    const p = spawnDyingWithUs('qemu-system-x86_64', [...args, '-no-reboot']);
    p.stderr!.resume();
    this.proc = p;
    p.on('exit', () => {
      if (this.stopping || this.proc !== p) return;
      this.rebooting = this.reboot().catch((e: Error) => { console.error(`# firmware: reboot failed: ${e.message}`); });
    });
  }

  /** The guest rebooted (or powered off): boot what its disk says now. */
  private async reboot(): Promise<void> {
    const raw = join(this.workDir, 'disk.raw');
    rmSync(raw, { force: true });
    execFileSync('qemu-img', ['convert', '-O', 'raw', join(this.workDir, 'root.qcow2'), raw]);
    const dbg = (req: string) => execFileSync('debugfs', ['-R', req, raw], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const names = dbg('ls -p /boot').split('\n').map((l) => l.split('/')[5] ?? '').filter((x) => x && x !== '.' && x !== '..');
    const grubCfg = names.includes('grub') ? dbg('cat /boot/grub/grub.cfg') || undefined : undefined;
    const choice = chooseRebootKernel({ bootNames: names, ...(grubCfg ? { grubCfg } : {}), bootIsSeparate: false, resolveFile: (k) => k });
    if ('error' in choice) throw new Error(choice.error);
    const kernel = join(this.workDir, `vmlinuz-${this.boots.length}`), initrd = join(this.workDir, `initrd-${this.boots.length}`);
    dbg(`dump /${choice.kernel} ${kernel}`);
    if (choice.initrds[0]) dbg(`dump /${choice.initrds[0]} ${initrd}`);
    rmSync(raw, { force: true });
    console.log(`# firmware: reboot -> ${choice.kernel} (${choice.chosenBy})`);
    this.launch(kernel, choice.initrds[0] ? initrd : undefined);
  }

  /** The kernel file name the current boot loaded ('vmlinuz' for the image's own). */
  get currentKernel(): string { return this.boots.at(-1)!.kernel; }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.rebooting;
    this.proc?.kill('SIGKILL');
  }
}
