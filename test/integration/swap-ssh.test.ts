// Swap and rollback onto the demo host VM over ssh://: map1 captured from the host, map2 built from it by
// hand (hello-service's handler says 2.0, a new directory and file, a removal, a mode change), swapped
// through the ssh SwapHost, checked by re-capturing the host; then a failing health check rolls back
// by itself. One boot for the file.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QemuHypervisor, type QemuVm } from '../../main/adapters/qemu/qemu-hypervisor.ts';
import { demoHostImage } from '../../main/adapters/qemu/image-cache.ts';
import { waitForSsh } from '../../main/adapters/ssh/wait-for-ssh.ts';
import { connectSsh, type SshShell } from '../../main/adapters/ssh/ssh-shell.ts';
import { capture } from '../../main/adapters/capture/capture.ts';
import { loadMap, saveMap } from '../../main/adapters/store/map-store.ts';
import { openSwapHost } from '../../main/adapters/swap/open-host.ts';
import type { SwapHost } from '../../main/adapters/swap/swap-host.ts';
import { HOST_WORK } from '../../main/adapters/swap/ssh-host.ts';
import { swap } from '../../main/adapters/swap/swap.ts';
import { rollbackLatest } from '../../main/adapters/swap/rollback.ts';
import { recover } from '../../main/adapters/swap/recover.ts';
import { objectFile } from '../../main/adapters/swap/transaction.ts';
import type { Entry, Manifest } from '../../main/core/domain/manifest.ts';
import { compareKeys } from '../../main/core/domain/path-key.ts';
import { isUnderstudyError } from '../../main/core/domain/errors.ts';
import { differences } from '../faults/vm/vm-world.ts';
import { putObject } from '../faults/vm/fault-map2.ts';

type Map_ = { id: string; manifest: Manifest };
const HANDLER = 'usr/lib/hello-service/handler';
describe('swap and rollback onto the demo host over ssh', { timeout: 20 * 60_000 }, () => {
  let work: string, store: string, keyPath: string, target: string;
  let vm: QemuVm;
  let sh: SshShell;
  let map1: Map_, map2: Map_;
  const connect = (t: { user: string; host: string; port: number }) => connectSsh({
    host: t.host, port: t.port, username: t.user, privateKey: readFileSync(keyPath),
    hostKeyPolicy: { kind: 'known-hosts', path: join(store, 'known_hosts'), acceptNew: true },
  });
  const recapture = async () => loadMap(store, (await capture({ store, target, connect })).map);
  const withHost = async <T>(f: (h: SwapHost) => Promise<T>): Promise<T> => {
    const host = await openSwapHost(target, { connect });
    try { return await f(host); } finally { await host.close(); }
  };
  const version = async () => (await sh.run('curl -fsS http://127.0.0.1:8080/version')).stdout.trim();

  let image: Awaited<ReturnType<typeof demoHostImage>>;

  before(async () => {
    const host = image = await demoHostImage({ build: true });
    work = mkdtempSync(join(tmpdir(), 'understudy-swap-ssh-test-'));
    store = join(work, 'store');
    keyPath = host.privateKeyPath;
    const overlay = join(work, 'root.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', host.rootImg, overlay]);
    const t0 = Date.now();
    vm = await new QemuHypervisor().start({
      name: 'swap-ssh-test', disks: [{ path: overlay, format: 'qcow2' }],
      kernel: host.kernel, initrd: host.initrd, cmdline: host.cmdline, memoryMiB: 1024, cpus: 2,
      forwardSsh: true, serialLog: join(work, 'serial.log'),
    }) as QemuVm;
    try {
      sh = await waitForSsh(vm.sshPort, readFileSync(keyPath), 5 * 60_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}\nserial console:\n${await vm.serialTail(40)}`);
    }
    console.log(`# boot to ssh: ${((Date.now() - t0) / 1000).toFixed(1)} s (${vm.accel})`);
    target = `ssh://root@127.0.0.1:${vm.sshPort}`;
    const t1 = Date.now();
    map1 = await recapture();
    console.log(`# capture map1: ${((Date.now() - t1) / 1000).toFixed(1)} s, ${map1.manifest.entries.length} entries`);
    map2 = await buildMap2(map1);
  });

  after(async () => {
    await sh?.close();
    await vm?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** map1 + the changes an upgrade would make, content written into the store like a capture would. */
  async function buildMap2(m1: Map_): Promise<Map_> {
    const put = (bytes: Buffer) => putObject(store, bytes);
    const byPath = new Map(m1.manifest.entries.map((e) => [e.path, { ...e }]));
    const h = byPath.get(HANDLER);
    assert.ok(h?.sha256, 'map1 holds the handler');
    const text = readFileSync(objectFile(store, h.sha256)).toString().replace(/^version=1\.0$/m, 'version=2.0');
    assert.match(text, /^version=2\.0$/m);
    const t = BigInt(h.mtimeNs) + 86_400_000_000_123n;
    byPath.set(HANDLER, { ...h, sha256: put(Buffer.from(text)), size: Buffer.byteLength(text), mtimeNs: t.toString() });
    byPath.set('etc/understudy-swap-test', { path: 'etc/understudy-swap-test', type: 'dir', mode: 0o750, uid: 0, gid: 0, mtimeNs: t.toString(), size: 0 });
    const conf = Buffer.from('swapped=yes\n');
    byPath.set('etc/understudy-swap-test/new.conf', { path: 'etc/understudy-swap-test/new.conf', type: 'file', mode: 0o640, uid: 0, gid: 4,
      mtimeNs: t.toString(), size: conf.length, sha256: put(conf) });
    assert.ok(byPath.delete('etc/motd'), 'map1 holds etc/motd');
    const issue = byPath.get('etc/issue.net')!;
    byPath.set('etc/issue.net', { ...issue, mode: 0o600 });
    const entries = [...byPath.values()].sort((a, b) => compareKeys(a.path, b.path)) as Entry[];
    const manifest = { ...m1.manifest, capturedAt: new Date().toISOString(), entries };
    return { id: await saveMap(store, manifest), manifest };
  }

  it('a re-capture of the untouched host differs from map1 only in what a live host changes', async () => {
    assert.deepEqual(differences((await recapture()).manifest, map1.manifest), []);
    assert.equal(await version(), '1.0');
  });

  it('swaps map1 -> map2 over ssh: the host equals map2, health sees 2.0; rollback: the host equals map1', async () => {
    const t0 = Date.now();
    const r = await withHost((host) => swap({ host, store, map1, map2, health: ['curl -fsS http://127.0.0.1:8080/version'] }));
    console.log(`# ssh swap: ${r.files} entries, ${r.bytesSent} bytes sent in ${((Date.now() - t0) / 1000).toFixed(1)} s (window ${r.windowSeconds.toFixed(3)} s)`);
    assert.equal(r.outcome, 'committed');
    assert.equal(r.health.length, 1);
    assert.equal(r.health[0]!.ok, true, r.health[0]!.output);
    assert.equal(r.health[0]!.output.trim(), '2.0');
    const handler = map2.manifest.entries.find((e) => e.path === HANDLER)!;
    assert.ok(r.bytesSent >= handler.size && r.bytesSent <= handler.size + 64, `only the new content crossed: ${r.bytesSent}`);
    const afterSwap = differences((await recapture()).manifest, map2.manifest);
    const servedAfterSwap = await version();
    // the boot-time recovery unit exists only for the duration of the swap
    const unitLeft = (await sh.run('test -e /etc/systemd/system/understudy-recover.service')).exitCode;

    // rolled back before asserting, so the next test starts from map1 whatever happened here
    const t1 = Date.now();
    const rb = await withHost((host) => rollbackLatest({ host, store }));
    console.log(`# ssh rollback: ${rb.files} entries, ${rb.bytesSent} bytes sent in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    assert.deepEqual(afterSwap, []);
    assert.equal(servedAfterSwap, '2.0');
    assert.equal(unitLeft, 1);
    assert.equal(rb.outcome, 'committed');
    assert.deepEqual(differences((await recapture()).manifest, map1.manifest), []);
    assert.equal(await version(), '1.0');
  });

  it('a failing health check rolls the swap back by itself: health-failed, the host equals map1', async () => {
    // the check only passes on 1.0: it fails exactly because the swap did land 2.0
    const err = await withHost((host) => swap({ host, store, map1, map2, health: ['curl -fsS http://127.0.0.1:8080/version | grep -qx 1.0'] }))
      .then(() => undefined, (e: unknown) => e);
    assert.ok(isUnderstudyError(err), String(err));
    assert.equal(err.code, 'health-failed');
    const details = err.details as { health: Array<{ ok: boolean }>; rollback: { outcome: string } };
    assert.equal(details.health[0]!.ok, false);
    assert.equal(details.rollback.outcome, 'committed');
    assert.deepEqual(differences((await recapture()).manifest, map1.manifest), []);
    assert.equal(await version(), '1.0');
    const left = await sh.run(`ls -A ${HOST_WORK}/tx | wc -l; test -e /etc/systemd/system/understudy-recover.service; echo $?`);
    assert.match(left.stdout, /\n1\n?$/);
  });

  it('the host VM powered off (QMP quit) inside a swap boots again, recovers, and is exactly map1 or map2', async () => {
    // the agent pauses at its first mutation inside the swap window (plan journaled, renames under way) ...
    const swapping = withHost((host) => swap({ host, store, map1, map2, agentEnv: { UNDERSTUDY_AGENT_PAUSE_AT: 'window' } }))
      .then(() => undefined, (e: unknown) => e);
    const deadline = Date.now() + 5 * 60_000;
    while ((await sh.run(`ls ${HOST_WORK}/.paused`)).exitCode !== 0) {
      assert.ok(Date.now() < deadline, 'the agent never reached the swap window');
      await new Promise((r) => setTimeout(r, 500));
    }
    const journal = (await sh.run(`cat ${HOST_WORK}/tx/*/journal`)).stdout;
    // ... and the host loses power: QMP quit, nothing flushed beyond what the agent synced itself
    await vm.kill();
    const interrupted = await swapping;
    assert.ok(interrupted, 'the swap call reports the lost host');
    await sh.close().catch(() => undefined);
    await vm.dispose();

    vm = await new QemuHypervisor().start({
      name: 'swap-ssh-test-reboot', disks: [{ path: join(work, 'root.qcow2'), format: 'qcow2' }],
      kernel: image.kernel, initrd: image.initrd, cmdline: image.cmdline, memoryMiB: 1024, cpus: 2,
      forwardSsh: true, serialLog: join(work, 'serial-reboot.log'),
    }) as QemuVm;
    sh = await waitForSsh(vm.sshPort, readFileSync(keyPath), 5 * 60_000);
    target = `ssh://root@127.0.0.1:${vm.sshPort}`;
    const recovered = await withHost((host) => recover(host));
    const now = (await recapture()).manifest;
    const [toOld, toNew] = [differences(now, map1.manifest), differences(now, map2.manifest)];
    assert.match(journal, /^planned/m, 'the power was cut inside the window');
    console.log(`# power cut inside the swap window (journal ends: ${journal.trim().split('\n').at(-1)}); after reboot + recover: `
      + `${toOld.length === 0 ? 'map1' : toNew.length === 0 ? 'map2' : 'neither'} (${JSON.stringify(recovered)})`);
    assert.ok(toOld.length === 0 || toNew.length === 0, `neither old nor new: old differs in ${toOld.slice(0, 5)}, new in ${toNew.slice(0, 5)}`);
    assert.equal(await version(), toOld.length === 0 ? '1.0' : '2.0');
    assert.equal((await sh.run('test -e /etc/systemd/system/understudy-recover.service')).exitCode, 1, 'the recovery unit is gone');
  });
});
