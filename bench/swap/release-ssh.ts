// The swap bench's "release-ssh" case: the release delta (Debian 12 -> 13 of a stock minimal root) swapped
// over SSH onto the demo host VM (TCG here) and rolled back. map1 is a capture of the VM; map2 is map1
// with every path of the release delta set to its Debian 13 entry (or removed), so the transaction is the
// release's: its paths, its content. The overlay disk is grown to hold the staging next to the old
// system. Reports swap, window, rollback, and the bytes the guest received over the network during the
// swap (its /proc/net/dev, ssh overhead included) against the changed content.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoHostImage } from '../../main/adapters/qemu/image-cache.ts';
import { capture } from '../../main/adapters/capture/capture.ts';
import { captureChanged } from '../../main/adapters/sandbox/capture-changed.ts';
import { loadMap, saveMap } from '../../main/adapters/store/map-store.ts';
import { swap } from '../../main/adapters/swap/swap.ts';
import { rollbackLatest } from '../../main/adapters/swap/rollback.ts';
import type { Entry, Manifest } from '../../main/core/domain/manifest.ts';
import { compareKeys } from '../../main/core/domain/path-key.ts';
import { computeDelta } from '../../main/core/domain/swap-delta.ts';
import { isRuntimeState } from '../../main/adapters/sandbox/sandbox-edits.ts';
import { parentKey, validateManifest } from '../../main/core/domain/map-validate.ts';
import { bootOverlay, disposeVmWorld, sshConnect, type VmWorld } from '../../test/faults/vm/vm-world.ts';
import type { Pair } from './pair.ts';

/** map1 of the VM with the release delta laid over it (hardlink leaders the delta points at come along). */
export function transplant(vm: Manifest, from: Manifest, to: Manifest): Manifest {
  const delta = computeDelta(from, to);
  const next = new Map(to.entries.map((e) => [e.path, e]));
  const out = new Map(vm.entries.map((e) => [e.path, e]));
  // as in a real rehearsal, the release's runtime state (its /run/sshd, made in the chroot) never lands:
  // the VM's /run is a tmpfs no map holds (adapters/sandbox/sandbox-edits.ts)
  const landing = (p: string) => !isRuntimeState(p);
  for (const p of delta.removed.filter(landing)) out.delete(p);
  const put = (p: string) => {
    const e = next.get(p)!;
    out.set(p, e);
    if (e.type === 'hardlink' && e.linkTo && out.get(e.linkTo) !== next.get(e.linkTo)) put(e.linkTo);
  };
  for (const p of [...delta.added, ...delta.changed].filter(landing)) put(p);
  // whatever the VM has below a directory the release removed or turned into something else goes too
  const sorted = [...out.values()].sort((a, b) => compareKeys(a.path, b.path));
  const entries: Entry[] = [];
  const dirs = new Set<string>();
  for (const e of sorted) {
    if (e.path !== '' && !dirs.has(parentKey(e.path))) continue;
    if (e.type === 'dir') dirs.add(e.path);
    entries.push(e);
  }
  const m = { ...vm, capturedAt: new Date().toISOString(), entries };
  validateManifest(m);
  return m;
}

const rxBytes = async (w: VmWorld) => {
  const dev = (await w.sh.run("cat /proc/net/dev")).stdout;
  return dev.split('\n').filter((l) => /^\s*e\w+:/.test(l)).reduce((n, l) => n + Number(l.split(':')[1]!.trim().split(/\s+/)[0]), 0);
};

export async function runReleaseSsh(p: Pair): Promise<Record<string, unknown>> {
  const image = await demoHostImage({ build: true });
  const work = mkdtempSync(join(tmpdir(), 'understudy-bench-release-ssh-'));
  const w = { work, store: join(work, 'store'), image, key: readFileSync(image.privateKeyPath), boots: 0 } as VmWorld;
  try {
    // the release's objects, hardlinked (no copy); the VM's own come with its capture
    execFileSync('mkdir', ['-p', w.store]);
    execFileSync('cp', ['-al', join(p.store, 'objects'), join(w.store, 'objects')]);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', image.rootImg, join(work, 'root.qcow2'), '6G']);
    const boot = await bootOverlay(w);
    await w.sh.run('resize2fs /dev/vda >/dev/null 2>&1');
    const t0 = performance.now();
    const c = await capture({ store: w.store, target: w.target, connect: sshConnect(w.store, w.key) });
    const captureSeconds = (performance.now() - t0) / 1000;
    const map1 = await loadMap(w.store, c.map);
    const [from, to] = [await loadMap(p.store, p.map1), await loadMap(p.store, p.map2)];
    const m2 = transplant(map1.manifest, from.manifest, to.manifest);
    const map2 = { id: await saveMap(w.store, m2), manifest: m2 };
    const delta = computeDelta(map1.manifest, map2.manifest);
    const byPath = new Map(m2.entries.map((e) => [e.path, e]));
    const changedBytes = [...delta.added, ...delta.changed].reduce((n, k) => n + (byPath.get(k)?.type === 'file' ? byPath.get(k)!.size : 0), 0);
    console.log(`  release-ssh: VM booted in ${boot.toFixed(1)} s (${w.vm.accel}), map1 captured in ${captureSeconds.toFixed(1)} s; `
      + `delta ${delta.items.length} paths, ${(changedBytes / 1e6).toFixed(0)} MB`);
    const rx0 = await rxBytes(w);
    const since = Number((await w.sh.run('date +%s')).stdout.trim()) - 1;
    const s = await swap({ host: w.host, store: w.store, map1, map2 });
    const received = (await rxBytes(w)) - rx0;
    // capture2's cost for a release-sized change: what changed since the swap began, read as the
    // sandbox's capture reads it (find -newerct, then one tar of the changed directories)
    const t2 = performance.now();
    const c2 = await captureChanged({ store: w.store, run: 'bench-release-ssh', shell: w.sh, map1: map1.manifest, sinceEpochSec: since });
    const capture2Seconds = (performance.now() - t2) / 1000;
    const r = await rollbackLatest({ host: w.host, store: w.store });
    const ph = (x: { phases?: typeof s.phases }) => x.phases ? `drift+plan ${((x.phases.driftSeconds ?? 0) + x.phases.planSeconds).toFixed(1)}, stage ${x.phases.stageSeconds.toFixed(1)}, `
      + `agent ${x.phases.agentSeconds.toFixed(1)} (prep ${x.phases.agentPrepSeconds?.toFixed(1) ?? '?'})` : '';
    console.log(`swap bench release-ssh (${s.agentPath ?? '?'} agent on the VM): ${delta.items.length} paths`);
    console.log(`  swap ${s.seconds.toFixed(1)} s [${ph(s)}], window ${s.windowSeconds.toFixed(3)} s`);
    console.log(`  rollback ${r.seconds.toFixed(1)} s [${ph(r)}], window ${r.windowSeconds.toFixed(3)} s`);
    console.log(`  capture2 of the swapped VM (changed only): ${capture2Seconds.toFixed(1)} s, ${c2.changedPaths} changed paths, ${c2.skippedDirs} directories taken from map1 (full capture of map1: ${captureSeconds.toFixed(1)} s)`);
    console.log(`  guest received ${(received / 1e6).toFixed(1)} MB for ${(changedBytes / 1e6).toFixed(1)} MB changed content -> ${(received / changedBytes).toFixed(3)}x (goal <= 1.05x)`);
    return { paths: delta.items.length, changedBytes, swapSeconds: s.seconds, windowSeconds: s.windowSeconds, rollbackSeconds: r.seconds,
      rollbackWindowSeconds: r.windowSeconds, receivedBytes: received, receivedVsChanged: received / changedBytes, agentPath: s.agentPath,
      phases: s.phases, rollbackPhases: r.phases, capture2Seconds, captureSeconds };
  } finally {
    await disposeVmWorld(w).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}
