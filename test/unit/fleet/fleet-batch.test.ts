// A batch of dir: clones on real stage services (capture, verification, swap) with the VM taken out (a
// restored directory is the sandbox: helpers/dir-sandbox.ts): the survey groups them before anything
// "boots", one rehearsal serves the group, followers are verified path by path and swapped for real; a
// host whose local edit meets the upgrade rehearses on its own; sharing off rehearses every host.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore } from '../../../main/app/run-store/run-store.ts';
import { runBatch, type BatchResult } from '../../../main/app/runs/batch-runner.ts';
import { realFleetSharing } from '../../../main/app/runs/fleet-sharing.ts';
import { realStageServices } from '../../../main/app/stage-services/real-stage-services.ts';
import type { FleetHost } from '../../../main/app/runs/fleet-file.ts';
import type { RunKind } from '../../../main/core/workflow/run-types.ts';
import { withDirSandbox, type DirSandboxes } from './helpers/dir-sandbox.ts';
import { buildRoot, cloneHost, UPGRADE_HELLO_SH } from './helpers/fleet-root.ts';

const IDENTITY = ['etc/hostname', 'etc/machine-id', 'etc/ssh/ssh_host_ed25519_key', 'etc/ssh/ssh_host_ed25519_key.pub', 'var/log/syslog'];
let work = '', root = '';

before(() => {
  work = mkdtempSync(join(tmpdir(), 'understudy-fleet-batch-'));
  root = join(work, 'golden');
  buildRoot(root);
});
after(() => rmSync(work, { recursive: true, force: true }));

interface Fleet { dirs: string[]; hosts: FleetHost[]; store: string; runs: RunStore; sandboxes: DirSandboxes }

/** n clones of the golden root; `edit[i]` changes host i after cloning. */
function fleet(name: string, n: number, edit: Record<number, (dir: string) => void> = {}): Fleet {
  const base = join(work, name);
  mkdirSync(base);
  const dirs = Array.from({ length: n }, (_, i) => {
    const d = join(base, `web${i + 1}`);
    cloneHost(root, d, `web${i + 1}`);
    edit[i]?.(d);
    return d;
  });
  const store = join(base, 'store');
  return {
    dirs, store, runs: new RunStore(store), sandboxes: { boots: [] },
    hosts: dirs.map((d) => ({ target: `dir:${d}`, command: UPGRADE_HELLO_SH, checks: ['test -s usr/share/doc/hello/changelog'], health: [], reboot: 'never' as const })),
  };
}

function batch(f: Fleet, kind: RunKind, o: { parallel?: number; canary?: number; sharing?: boolean } = {}): Promise<BatchResult> {
  const scratch = join(f.store, '..', 'scratch');
  mkdirSync(scratch, { recursive: true });
  return runBatch({
    store: f.runs, hosts: f.hosts, kind, yes: true, options: { canary: o.canary ?? 1, parallel: o.parallel ?? 2, maxFail: { count: 9 } },
    services: (input) => withDirSandbox(realStageServices(input, f.store), f.store, scratch, f.sandboxes),
    fleetSharing: realFleetSharing(f.store), sharing: o.sharing ?? true,
  });
}

const read = (dir: string, p: string) => readFileSync(join(dir, p));
const cli = (...args: string[]) => execFileSync(process.execPath, ['bin/understudy.mjs', ...args], { cwd: join(import.meta.dirname, '../../..'), encoding: 'utf8' });

describe('a fleet of dir: clones shares one rehearsal', () => {
  it('upgrade: one group, one sandbox; followers verified and swapped, each keeps its identity; an edited host rehearses alone', async () => {
    const f = fleet('upgrade', 4, { 3: (d) => writeFileSync(join(d, 'usr/bin/hello'), 'patched here\n') });
    const identity = f.dirs.map((d) => IDENTITY.map((p) => read(d, p)));
    const r = await batch(f, 'upgrade');
    assert.equal(r.ok, true, JSON.stringify(r.hosts, null, 1));
    assert.equal(r.groups.length, 1, 'one group, from the survey');
    assert.deepEqual(r.groups[0]!.members, f.hosts.map((h) => h.target));
    assert.equal(r.rehearsals, 2);
    assert.equal(f.sandboxes.boots.length, 2, 'two sandboxes: the representative and the edited host');
    assert.deepEqual(r.hosts.map((h) => h.outcome), ['upgraded', 'upgraded', 'upgraded', 'upgraded']);
    const [h1, h2, h3, h4] = r.hosts;
    assert.equal(h1!.rehearsal?.mode, 'own');
    for (const h of [h2!, h3!]) {
      assert.equal(h.rehearsal?.mode, 'shared');
      assert.equal(h.rehearsal?.fromTarget, h1!.target);
      assert.equal(h.rehearsal?.verified, h.rehearsal?.deltaPaths);
      assert.ok((h.rehearsal?.hostSpecific ?? 0) >= IDENTITY.length);
    }
    assert.equal(h4!.rehearsal?.mode, 'own');
    assert.deepEqual(h4!.rehearsal?.conflicts?.map((c) => c.path), ['usr/bin/hello']);
    f.dirs.forEach((d, i) => {
      IDENTITY.forEach((p, j) => assert.deepEqual(read(d, p), identity[i]![j], `${d}/${p} byte for byte`));
      assert.match(read(d, 'var/lib/dpkg/status').toString(), /Version: 2\.0-1/);
      assert.equal(read(d, 'usr/bin/hello').length, 9500, 'the 2.0 binary (also on the edited host: dpkg would replace it too)');
    });
    // runs and show say the same per run
    for (const h of r.hosts) assert.deepEqual((f.runs.get(h.run!)?.result as any)?.rehearsal, h.rehearsal);
    const show = (run: string) => cli('show', run, '--store', f.store);
    assert.match(show(h2!.run!), new RegExp(`rehearsal took the rehearsal of ${h1!.target} \\(run ${h1!.run}\\): 13 of 13 delta paths verified identical, 6 host-specific paths kept`));
    assert.match(show(h4!.run!), /rehearsal rehearsed on its own: differs from .*web1 on 1 path the upgrade changes: \/usr\/bin\/hello \(here: content changed\)/);
    assert.match(show(h4!.run!), /^  differs  \/usr\/bin\/hello  \(here: content changed; in the rehearsal: content changed\)$/m);
    const runs = cli('runs', '--store', f.store);
    assert.match(runs, /REHEARSAL/);
    assert.match(runs, new RegExp(`${h2!.run}.*took ${h1!.target}'s`));
    assert.match(runs, new RegExp(`${h4!.run}.*own \\(1 path differ from ${h1!.target}\\)`));
    f.runs.close();
  });

  it('rehearse: a per-host verdict on whether the rehearsed delta applies; nothing is changed', async () => {
    const f = fleet('rehearse', 3, { 2: (d) => writeFileSync(join(d, 'usr/bin/hello'), 'patched here\n') });
    const r = await batch(f, 'rehearse', { canary: 0, parallel: 3 });
    assert.equal(r.ok, true);
    assert.deepEqual(r.hosts.map((h) => [h.outcome, h.rehearsal?.mode]), [['rehearsed', 'own'], ['rehearsed', 'shared'], ['rehearsed', 'own']]);
    assert.equal(f.sandboxes.boots.length, 2);
    for (const d of f.dirs) assert.match(read(d, 'var/lib/dpkg/status').toString(), /Version: 1\.0-1/, 'hosts untouched');
    f.runs.close();
  });

  it('sharing off: every host rehearses in a sandbox of its own', async () => {
    const f = fleet('off', 3);
    const r = await batch(f, 'upgrade', { sharing: false });
    assert.equal(r.ok, true);
    assert.equal(r.rehearsals, 3);
    assert.equal(f.sandboxes.boots.length, 3);
    assert.deepEqual(r.hosts.map((h) => h.rehearsal?.mode), ['own', 'own', 'own']);
    f.runs.close();
  });
});
