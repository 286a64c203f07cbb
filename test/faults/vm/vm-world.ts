// The demo host VM as a fault-injection target, paid for once: one qcow2 overlay on the cached demo-host
// image (the cache is never written), map1 captured from the VM over ssh://, map2 built from it
// (fault-map2.ts), and the same disk booted again after every power cut.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QemuHypervisor, type QemuVm } from '../../../main/adapters/qemu/qemu-hypervisor.ts';
import { demoHostImage, type DemoHostImage } from '../../../main/adapters/qemu/image-cache.ts';
import { waitForSsh } from '../../../main/adapters/ssh/wait-for-ssh.ts';
import { connectSsh, type SshShell } from '../../../main/adapters/ssh/ssh-shell.ts';
import { capture } from '../../../main/adapters/capture/capture.ts';
import { loadMap } from '../../../main/adapters/store/map-store.ts';
import { openSshHost, type SshConnect } from '../../../main/adapters/swap/ssh-host.ts';
import type { SwapHost } from '../../../main/adapters/swap/swap-host.ts';
import type { Manifest } from '../../../main/core/domain/manifest.ts';
import { compareKeys } from '../../../main/core/domain/path-key.ts';
import { sameEntry } from '../../../main/core/domain/swap-entry.ts';
import { buildFaultMap2, type MapRef } from './fault-map2.ts';

// what a live host changes by itself between two captures (mount points' and temp dirs' times, logs, the
// daily dpkg-db-backup timer's var/backups), and the swap's own work area (/var/lib/understudy, whose
// creation also touches var/lib's mtime)
const LIVE = /^(var\/lib\/understudy(\/|$)|var\/log\/|var\/lib\/systemd\/|var\/cache\/|var\/tmp\/|var\/backups(\/|$)|root\/\.|etc\/\.?ld\.so\.cache$|(dev|proc|run|sys|tmp|var\/tmp|var\/lib)$)|(^|\/)\.understudy-stage(\/|$)/;

/** Paths whose entries differ between two maps (content, owner, mode, xattrs, mtime), noise left out. */
export function differences(a: Manifest, b: Manifest): string[] {
  const A = new Map(a.entries.map((e) => [e.path, e])), B = new Map(b.entries.map((e) => [e.path, e]));
  const out: string[] = [];
  for (const p of new Set([...A.keys(), ...B.keys()])) {
    const x = A.get(p), y = B.get(p);
    if (!x || !y || !sameEntry(x, y)) out.push(p);
  }
  // agent.sh's boot-time recovery unit lives in etc/systemd/system only for the swap: nothing of it,
  // not even those directories' times, may be left afterwards, so they are compared like any path
  return out.filter((p) => !LIVE.test(p)).sort(compareKeys);
}

export interface VmWorld {
  work: string;
  store: string;
  image: DemoHostImage;
  key: Buffer;
  vm: QemuVm;
  sh: SshShell;
  /** The swap seam over that same connection (a login costs seconds on a loaded TCG guest). */
  host: SwapHost;
  target: string;
  boots: number;
  map1: MapRef;
  map2: MapRef;
}

/** Boots the overlay (first boot, or the same disk again after a power cut) and logs in. */
export async function bootOverlay(w: Omit<VmWorld, 'vm' | 'sh' | 'host' | 'target' | 'map1' | 'map2'> & Partial<VmWorld>): Promise<number> {
  const t0 = Date.now();
  const n = w.boots++;
  const vm = await new QemuHypervisor().start({
    name: `faults-vm-${n}`, disks: [{ path: join(w.work, 'root.qcow2'), format: 'qcow2' }],
    kernel: w.image.kernel, initrd: w.image.initrd, cmdline: w.image.cmdline, memoryMiB: 1024, cpus: 2,
    forwardSsh: true, serialLog: join(w.work, `serial-${n}.log`),
  }) as QemuVm;
  w.vm = vm;
  try {
    w.sh = await waitForSsh(vm.sshPort, w.key, 5 * 60_000);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nserial console:\n${await vm.serialTail(40)}`);
  }
  w.target = `ssh://root@127.0.0.1:${vm.sshPort}`;
  const sh = w.sh;
  w.host = await openSshHost(w.target, async () => sh);
  return (Date.now() - t0) / 1000;
}

export const sshConnect = (store: string, key: Buffer): SshConnect => (t) => connectSsh({
  host: t.host, port: t.port, username: t.user, privateKey: key,
  hostKeyPolicy: { kind: 'known-hosts', path: join(store, 'known_hosts'), acceptNew: true },
});

export async function recapture(w: VmWorld): Promise<MapRef> {
  return loadMap(w.store, (await capture({ store: w.store, target: w.target, connect: sshConnect(w.store, w.key) })).map);
}

export async function makeVmWorld(log: (s: string) => void): Promise<VmWorld> {
  const image = await demoHostImage({ build: true });
  const work = mkdtempSync(join(tmpdir(), 'understudy-faults-vm-'));
  const w = { work, store: join(work, 'store'), image, key: readFileSync(image.privateKeyPath), boots: 0 } as VmWorld;
  try {
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', image.rootImg, join(work, 'root.qcow2')]);
    log(`boot to ssh: ${(await bootOverlay(w)).toFixed(1)} s (${w.vm.accel})`);
    const t1 = Date.now();
    w.map1 = await recapture(w);
    log(`capture map1: ${((Date.now() - t1) / 1000).toFixed(1)} s, ${w.map1.manifest.entries.length} entries`);
    w.map2 = await buildFaultMap2(w.store, w.map1);
    assert.equal((await w.sh.run('curl -fsS http://127.0.0.1:8080/version')).stdout.trim(), '1.0');
    return w;
  } catch (e) {
    await disposeVmWorld(w);
    throw e;
  }
}

/** Cuts the power (QMP quit): nothing the guest has not written back survives. */
export async function powerOff(w: VmWorld): Promise<void> {
  await w.vm.kill();
  await w.sh.close().catch(() => undefined);
  await w.vm.dispose();
}

export async function disposeVmWorld(w: VmWorld): Promise<void> {
  await w.sh?.close().catch(() => undefined);
  await w.vm?.dispose();
  rmSync(w.work, { recursive: true, force: true });
}
