// Boots the demo host (vm-images) under QEMU on a fresh qcow2 overlay and logs in: the shared set-up of
// every test, bench or demo that needs a real host over SSH.
//   const d = await bootDemoHost({ name: 'capture-ssh-test', workDir, mirror: true })
//   d.sh.run('curl -s 127.0.0.1:8080/version'); d.target -> 'ssh://root@127.0.0.1:PORT'; d.bootSeconds
//   await d.dispose()   // closes SSH, stops the VM, stops the mirror; workDir (overlay, serial.log) stays yours
// With mirror: true the host VM itself can reach its repository (DEMO_REPO_URI, served from vm-images' mirror)
// through a repository proxy at http://10.0.2.100:3128/, as a sandbox does: nothing in the image points
// there, so its apt needs 'apt-get <d.aptProxy> ...' (a host on a network with a proxy, as it were).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AccessPolicy } from '../proxy/access-policy.ts';
import { startForwardProxy, type ForwardProxy } from '../proxy/forward-proxy.ts';
import { PROXY_GUEST_URL, proxyGuestForward } from '../proxy/guest-forward.ts';
import { parseMirrorOption, mirrorRoutes } from '../proxy/mirror-route.ts';
import { relayCommand } from '../proxy/relay-command.ts';
import { endpointOf } from '../../core/domain/apt-sources.ts';
import type { SshShell } from '../ssh/ssh-shell.ts';
import { waitForSsh } from '../ssh/wait-for-ssh.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { DEMO_REPO_URI, demoHostImage, mirrorImage, stockHostImage, type DemoHostImage, type StockHostImage } from './image-cache.ts';
import { QemuHypervisor, type QemuVm } from './qemu-hypervisor.ts';

/** What booting a host image needs (the demo host's and the stock host's images have it). */
export type HostImage = Pick<DemoHostImage, 'rootImg' | 'kernel' | 'initrd' | 'cmdline' | 'privateKeyPath'>;

export interface HostVm<I extends HostImage = HostImage> {
  image: I;
  vm: QemuVm;
  sh: SshShell;
  privateKey: Buffer;
  target: string;
  /** The repository proxy the host VM reaches at 10.0.2.100:3128 (with mirror: true). */
  proxy?: ForwardProxy;
  /** apt options that send the host VM's apt through it: 'apt-get <aptProxy> update'. */
  aptProxy: string;
  bootSeconds: number;
  dispose(): Promise<void>;
}

export type DemoHostVm = HostVm<DemoHostImage>;

interface BootOptions { name: string; workDir: string; memoryMiB?: number; cpus?: number; sshTimeoutMs?: number; signal?: AbortSignal }

export async function bootDemoHost(o: BootOptions & { mirror?: boolean }): Promise<DemoHostVm> {
  const image = await demoHostImage({ build: true });
  const mirror = o.mirror ? await demoRepoProxy((await mirrorImage({ build: true })).dir) : undefined;
  return bootHostImage(image, o, mirror);
}

/** The stock Debian 12 host (vm-images/stock-host): real archive sources, reached by nothing of understudy's. */
export async function bootStockHost(o: BootOptions): Promise<HostVm<StockHostImage>> {
  return bootHostImage(await stockHostImage({ build: true }), o);
}

async function bootHostImage<I extends HostImage>(image: I, o: BootOptions, mirror?: ForwardProxy): Promise<HostVm<I>> {
  const overlay = join(o.workDir, 'root.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', image.rootImg, overlay]);
  const started = Date.now();
  let vm: QemuVm | undefined;
  try {
    vm = await new QemuHypervisor().start({
      name: o.name, disks: [{ path: overlay, format: 'qcow2' }], kernel: image.kernel, initrd: image.initrd,
      cmdline: image.cmdline, memoryMiB: o.memoryMiB ?? 1024, cpus: o.cpus ?? 2, forwardSsh: true,
      serialLog: join(o.workDir, 'serial.log'),
      guestForwards: mirror ? [proxyGuestForward(relayCommand('127.0.0.1', mirror.port))] : [],
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
      image, vm: running, sh, privateKey, proxy: mirror, aptProxy: `-o Acquire::http::Proxy=${PROXY_GUEST_URL}`, target: `ssh://root@127.0.0.1:${running.sshPort}`,
      bootSeconds: (Date.now() - started) / 1000,
      dispose: async () => { await sh.close(); await running.dispose(); await mirror?.close(); },
    };
  } catch (e) {
    await vm?.dispose();
    await mirror?.close();
    throw e;
  }
}

/** A repository proxy that answers the demo host's source from the mirror directory, and nothing else. */
async function demoRepoProxy(dir: string): Promise<ForwardProxy> {
  const ep = endpointOf(DEMO_REPO_URI)!;
  const source = { file: 'etc/apt/sources.list', line: 1, types: ['deb'], uri: DEMO_REPO_URI, suites: ['./'], components: [], options: {} };
  return startForwardProxy({
    policy: new AccessPolicy({ sources: [ep], named: [] }), upstream: { noProxy: '' },
    mirrors: mirrorRoutes([parseMirrorOption(dir)], [source]),
  });
}
