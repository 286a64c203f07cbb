// `npm run bench -- rehearse [--tree DIR]`: on the demo host's tree (default), side by side in one run:
//   disk build (map1 written into an empty ext4 image by one debugfs script + sandbox edits + metadata
//   stamping, kernel/initrd copied out; empty image cache) vs `mkfs.ext4 -d` alone on the same tree
//   and size                                                                   (goal <= 1.2x)
//   sandbox ready (qemu adapter start -> SSH login answers) vs a bare qemu-system-x86_64 boot of the
//   same disks, kernel and initrd until sshd sends its banner                  (goal <= 1.2x)
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoHostImage } from '../main/adapters/qemu/image-cache.ts';
import { QemuHypervisor } from '../main/adapters/qemu/qemu-hypervisor.ts';
import { freeLoopbackPort } from '../main/adapters/qemu/free-port.ts';
import { resolveAccel } from '../main/adapters/qemu/kvm-probe.ts';
import { capture } from '../main/adapters/capture/capture.ts';
import { loadMap } from '../main/adapters/store/map-store.ts';
import { baseImageFor, diskSizeMiB, runDisks, type BaseImage } from '../main/adapters/sandbox/disk-build.ts';
import { startSandbox } from '../main/adapters/sandbox/sandbox-vm.ts';

const secs = (t0: number) => (performance.now() - t0) / 1000;

function sshBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let data = '';
    s.setTimeout(5000, () => { s.destroy(); resolve(false); });
    s.on('data', (c) => { data += c.toString(); if (data.startsWith('SSH-')) { s.destroy(); resolve(true); } });
    s.on('error', () => resolve(false));
    s.on('close', () => resolve(data.startsWith('SSH-')));
  });
}

/** Bare QEMU on the same disks, kernel, initrd and accelerator; seconds until sshd's banner. */
async function bareBoot(base: BaseImage, work: string, accel: string): Promise<number> {
  // Nobody logs in: the banner is the finish line, so any key line will do.
  const disks = await runDisks(base, work, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIbench bench');
  const port = await freeLoopbackPort();
  const t0 = performance.now();
  const q = spawn('qemu-system-x86_64', ['-machine', 'q35', '-accel', accel, '-cpu', accel === 'kvm' ? 'host' : 'max', '-m', '1024',
    '-smp', '2', '-nodefaults', '-display', 'none', '-kernel', base.kernel, ...(base.initrd ? ['-initrd', base.initrd] : []),
    '-append', base.cmdline, '-drive', `file=${disks.overlay},format=qcow2,if=virtio`, '-drive', `file=${disks.seed},format=raw,if=virtio`,
    '-netdev', `user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${port}-:22`, '-device', 'virtio-net-pci,netdev=n0',
    '-object', 'rng-random,id=rng0,filename=/dev/urandom', '-device', 'virtio-rng-pci,rng=rng0',
    '-serial', `file:${join(work, 'bare-serial.log')}`], { stdio: 'ignore' });
  try {
    for (;;) {
      if (await sshBanner(port)) return secs(t0);
      if (secs(t0) > 600) throw new Error('bare boot: no sshd banner within 600 s');
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    q.kill('SIGKILL');
  }
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const i = args.indexOf('--tree');
  const tree = i >= 0 ? args[i + 1]! : (await demoHostImage({ build: true })).tree;
  const work = mkdtempSync(join(tmpdir(), 'understudy-bench-rehearse-'));
  process.env.UNDERSTUDY_IMAGES = join(work, 'images'); // empty cache: the build is measured, not a hit
  try {
    const store = join(work, 'store');
    const c = await capture({ store, target: `dir:${tree}` });
    const size = diskSizeMiB((await loadMap(store, c.map)).manifest);
    let t0 = performance.now();
    const base = await baseImageFor(store, c.map);
    const build = secs(t0);
    t0 = performance.now();
    execFileSync('mkfs.ext4', ['-q', '-F', '-d', tree, '-E', 'root_owner=0:0', join(work, 'plain.img'), `${size}M`]);
    const mkfs = secs(t0);
    rmSync(join(work, 'plain.img'));

    const { accel } = await resolveAccel('auto', base.kernel);
    const bareDir = mkdtempSync(join(work, 'bare-'));
    const bare = await bareBoot(base, bareDir, accel);
    t0 = performance.now();
    const sb = await startSandbox({ hypervisor: new QemuHypervisor(), base, runDir: work, sshTimeoutMs: 600_000 });
    const ready = secs(t0);
    await sb.close(60_000);

    const r = { tree, accel, diskBuildSeconds: build, mkfsSeconds: mkfs, diskBuildRatio: build / mkfs,
      readySeconds: ready, bareBootSeconds: bare, readyRatio: ready / bare };
    console.log(`rehearse (${accel}) on ${tree}`);
    console.log(`  disk build ${build.toFixed(1)} s vs mkfs.ext4 -d ${mkfs.toFixed(1)} s: ${r.diskBuildRatio.toFixed(2)}x (goal <= 1.2x)`);
    console.log(`  sandbox ready ${ready.toFixed(1)} s vs bare qemu to sshd ${bare.toFixed(1)} s: ${r.readyRatio.toFixed(2)}x (goal <= 1.2x)`);
    return r;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
