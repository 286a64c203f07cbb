// The demo's "production host": the cached demo-host image booted under QEMU on a fresh qcow2 overlay
// (so every demo starts from hello-service 1.0), SSH forwarded to a loopback port, root's key from the
// image cache. Its own known_hosts lives in the demo dir, so a reused port never trips the host-key check.
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { demoHostImage } from '../../adapters/qemu/image-cache.ts';
import { QemuHypervisor } from '../../adapters/qemu/qemu-hypervisor.ts';
import { waitForSsh } from '../../adapters/ssh/wait-for-ssh.ts';
import type { VmHandle } from '../../core/ports/hypervisor.port.ts';

const run = promisify(execFile);

export interface DemoHost {
  vm: VmHandle;
  /** ssh://root@127.0.0.1:PORT */
  target: string;
  identity: string;
  dir: string;
  close(): Promise<void>;
}

export async function bootDemoHost(dir: string, signal?: AbortSignal, log?: (l: string) => void): Promise<DemoHost> {
  const image = await demoHostImage({ build: true });
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const overlay = join(dir, 'host.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', image.rootImg, overlay]);
  log?.('booting the demo host (hello-service 1.0) ...');
  const vm = await new QemuHypervisor().start({
    name: 'demo-host', disks: [{ path: overlay, format: 'qcow2' }], kernel: image.kernel, initrd: image.initrd,
    cmdline: image.cmdline, memoryMiB: 1024, cpus: 2, forwardSsh: true, serialLog: join(dir, 'serial.log'),
  }, signal);
  try {
    const shell = await waitForSsh(vm.sshPort, await readFile(image.privateKeyPath), 6 * 60_000, signal);
    await shell.close();
  } catch (e) {
    const tail = await vm.serialTail(40).catch(() => '');
    await vm.dispose();
    throw new UnderstudyError('timeout', `the demo host did not answer SSH: ${(e as Error).message}\n${tail}`);
  }
  log?.(`demo host up: ssh://root@127.0.0.1:${vm.sshPort} (${vm.accel})`);
  return {
    vm, target: `ssh://root@127.0.0.1:${vm.sshPort}`, identity: image.privateKeyPath, dir,
    async close() {
      await vm.shutdown(20_000).catch(() => false);
      await vm.dispose();
    },
  };
}
