// The demo's "production host": the cached demo-host image booted through the shared boot helper
// (adapters/qemu/demo-host-vm.ts) on a fresh overlay in the demo dir, so every demo starts from
// hello-service 1.0. Root's key stays in the image cache; the target is ssh://root@127.0.0.1:PORT.
import { mkdir, rm } from 'node:fs/promises';
import { bootDemoHost as bootQemuDemoHost } from '../../adapters/qemu/demo-host-vm.ts';
import type { VmHandle } from '../../core/ports/hypervisor.port.ts';

export interface DemoHost {
  vm: VmHandle;
  /** ssh://root@127.0.0.1:PORT */
  target: string;
  identity: string;
  dir: string;
  close(): Promise<void>;
}

export async function bootDemoHost(dir: string, signal?: AbortSignal, log?: (l: string) => void): Promise<DemoHost> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  log?.('booting the demo host (hello-service 1.0) ...');
  const d = await bootQemuDemoHost({ name: 'demo-host', workDir: dir, sshTimeoutMs: 6 * 60_000, signal });
  log?.(`demo host up: ${d.target} (${d.vm.accel})`);
  return {
    vm: d.vm, target: d.target, identity: d.image.privateKeyPath, dir,
    async close() {
      await d.vm.shutdown(20_000).catch(() => false);
      await d.dispose();
    },
  };
}
