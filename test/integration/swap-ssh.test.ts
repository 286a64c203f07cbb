// Swap and rollback onto the demo host VM over ssh://: map1 captured from the host, map2 built from it
// by hand (hello-service's handler says 2.0, a new directory and file, a removal, a mode change), swapped
// through the ssh SwapHost, checked by re-capturing the host; then a failing health check rolls back by
// itself; then the CI-bounded fault campaign (agent and orchestrator kill -9, power cuts) on the same VM.
// One boot and one capture for the file.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { saveMap } from '../../main/adapters/store/map-store.ts';
import type { SwapHost } from '../../main/adapters/swap/swap-host.ts';
import { HOST_WORK } from '../../main/adapters/swap/ssh-host.ts';
import { swap } from '../../main/adapters/swap/swap.ts';
import { rollbackLatest } from '../../main/adapters/swap/rollback.ts';
import { objectFile } from '../../main/adapters/swap/transaction.ts';
import type { Entry, Manifest } from '../../main/core/domain/manifest.ts';
import { compareKeys } from '../../main/core/domain/path-key.ts';
import { isUnderstudyError } from '../../main/core/domain/errors.ts';
import { differences, disposeVmWorld, makeVmWorld, recapture as recaptureOf, type VmWorld } from '../faults/vm/vm-world.ts';
import { putObject } from '../faults/vm/fault-map2.ts';
import { vmFaultTests } from '../faults/vm/vm-suite.ts';

type Map_ = { id: string; manifest: Manifest };
const HANDLER = 'usr/lib/hello-service/handler';
describe('swap and rollback onto the demo host over ssh', { timeout: 60 * 60_000 }, () => {
  let w: VmWorld;
  let store: string, map1: Map_, map2: Map_;
  const recapture = () => recaptureOf(w);
  const withHost = <T>(f: (h: SwapHost) => Promise<T>): Promise<T> => f(w.host);
  const version = async () => (await w.sh.run('curl -fsS http://127.0.0.1:8080/version')).stdout.trim();

  before(async () => {
    w = await makeVmWorld((s) => console.log(`# ${s}`));
    store = w.store;
    map1 = w.map1;
    map2 = await buildMap2(map1);
  });

  after(async () => {
    if (w) await disposeVmWorld(w);
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
    const unitLeft = (await w.sh.run('test -e /etc/systemd/system/understudy-recover.service')).exitCode;

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
    const left = await w.sh.run(`ls -A ${HOST_WORK}/tx | wc -l; test -e /etc/systemd/system/understudy-recover.service; echo $?`);
    assert.match(left.stdout, /\n1\n?$/);
  });

  // the CI-bounded fault campaign on this same VM and map1 (the long run, with a full re-capture at the
  // end: test/faults/faults-vm.test.ts); each fault is still checked path by path over the whole delta
  vmFaultTests({ agent: 1, orchestrator: 1, power: 1, recapture: false }, () => w);
});
