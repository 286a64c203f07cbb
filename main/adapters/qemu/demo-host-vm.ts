// Boots the demo host (vm-images) under QEMU on a fresh qcow2 overlay and logs in: the shared set-up of
// every test, bench or demo that needs a real host over SSH.
//   const d = await bootDemoHost({ name: 'capture-ssh-test', workDir, mirror: true })
//   d.sh.run('curl -s 127.0.0.1:8080/version'); d.target -> 'ssh://root@127.0.0.1:PORT'; d.bootSeconds
//   await d.dispose()   // closes SSH, stops the VM, stops the mirror; workDir (overlay, serial.log) stays yours
// With mirror: true the guest's apt reaches vm-images' mirror at http://10.0.2.100/ (loopback server + relay).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveMirror, type MirrorServer } from '../mirror/mirror-server.ts';
import { relayCommand } from '../mirror/relay-command.ts';
import type { SshShell } from '../ssh/ssh-shell.ts';
import { waitForSsh } from '../ssh/wait-for-ssh.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { demoHostImage, mirrorImage, type DemoHostImage } from './image-cache.ts';
import { QemuHypervisor, type QemuVm } from './qemu-hypervisor.ts';

export interface DemoHostVm {
  image: DemoHostImage;
  vm: QemuVm;
  sh: SshShell;
  privateKey: Buffer;
  target: string;
  mirror?: MirrorServer;
  bootSeconds: number;
  dispose(): Promise<void>;
}

export async function bootDemoHost(o: {
  name: string; workDir: string; mirror?: boolean; memoryMiB?: number; cpus?: number; sshTimeoutMs?: number; signal?: AbortSignal;
}): Promise<DemoHostVm> {
  const image = await demoHostImage({ build: true });
  const overlay = join(o.workDir, 'root.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', image.rootImg, overlay]);
  const mirror = o.mirror ? await serveMirror((await mirrorImage({ build: true })).dir) : undefined;
  const started = Date.now();
  let vm: QemuVm | undefined;
  try {
    vm = await new QemuHypervisor().start({
      name: o.name, disks: [{ path: overlay, format: 'qcow2' }], kernel: image.kernel, initrd: image.initrd,
      cmdline: image.cmdline, memoryMiB: o.memoryMiB ?? 1024, cpus: o.cpus ?? 2, forwardSsh: true,
      serialLog: join(o.workDir, 'serial.log'),
      guestForwards: mirror ? [{ guestAddr: '10.0.2.100', guestPort: 80, command: relayCommand('127.0.0.1', mirror.port) }] : [],
    }, o.signal) as QemuVm;
    const privateKey = readFileSync(image.privateKeyPath);
    let sh: SshShell;
    try {
      sh = await waitForSsh(vm.sshPort, privateKey, o.sshTimeoutMs ?? 5 * 60_000, o.signal);
    } catch (e) {
      const tail = await vm.serialTail(40);
      throw new UnderstudyError((e as UnderstudyError).code ?? 'timeout', `${(e as Error).message}\nserial console:\n${tail}`);
    }
    const running = vm;
    return {
      image, vm: running, sh, privateKey, mirror, target: `ssh://root@127.0.0.1:${running.sshPort}`,
      bootSeconds: (Date.now() - started) / 1000,
      dispose: async () => { await sh.close(); await running.dispose(); await mirror?.close(); },
    };
  } catch (e) {
    await vm?.dispose();
    await mirror?.close();
    throw e;
  }
}
