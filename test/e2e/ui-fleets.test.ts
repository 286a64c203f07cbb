// The Fleets screen on the real server and a real batch in the same store: three dir: clones (the third
// with a local edit to a file the upgrade replaces), real capture, grouping, verification and swaps; only
// the VM is a restored directory (test/unit/fleet/helpers/dir-sandbox.ts), held at its boot until the test
// has seen the groups. The UI shows the one group before anything boots, then each host's rehearsal: its
// own, the representative's verified, or its own because of the paths that differ; and where each
// sandbox ran, with its wait and rehearsal times.
// A second batch on a pool of two members (fake stage services, real runs and store): one host's member is
// lost mid-upgrade; the screen shows the member that rehearsed each host, their wait and rehearsal times,
// and the attempt that went back in the queue.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { RunStore } from '../../main/app/run-store/run-store.ts';
import { runBatch } from '../../main/app/runs/batch-runner.ts';
import { realFleetSharing } from '../../main/app/runs/fleet-sharing.ts';
import { realStageServices } from '../../main/app/stage-services/real-stage-services.ts';
import { fakeStageServices } from '../../main/adapters/fake/fake-stage-services.ts';
import { abortableSleep } from '../../main/adapters/fake/abortable-sleep.ts';
import { UnderstudyError } from '../../main/core/domain/errors.ts';
import { withDirSandbox, type DirSandboxes } from '../unit/fleet/helpers/dir-sandbox.ts';
import { buildRoot, cloneHost, UPGRADE_HELLO_SH } from '../unit/fleet/helpers/fleet-root.ts';
import { openBrowser, screenshot, type TestBrowser } from './helpers/browser.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let t: TestServer;
let b: TestBrowser;
let work = '';

before(async () => {
  t = await startTestServer();
  work = mkdtempSync(join(tmpdir(), 'understudy-e2e-fleet-'));
  b = await openBrowser();
});
after(async () => {
  await b?.close();
  await t?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('Fleets: the groups before anything boots, then whose rehearsal each host took and why not', async () => {
  const root = join(work, 'golden');
  buildRoot(root);
  const dirs = ['web1', 'web2', 'web3'].map((n) => { const d = join(work, n); cloneHost(root, d, n); return d; });
  writeFileSync(join(dirs[2]!, 'usr/bin/hello'), 'patched here\n');
  const targets = dirs.map((d) => `dir:${d}`);
  let open!: () => void;
  const sandboxes: DirSandboxes = { boots: [], gate: new Promise<void>((r) => { open = r; }) };
  const scratch = join(work, 'scratch');
  mkdirSync(scratch);
  const runs = new RunStore(t.store);
  const batch = runBatch({
    store: runs, kind: 'upgrade', yes: true, options: { canary: 1, parallel: 2, maxFail: { count: 3 } },
    hosts: targets.map((target) => ({ target, command: UPGRADE_HELLO_SH, checks: [], health: [], reboot: 'never' as const })),
    services: (input) => withDirSandbox(realStageServices(input, t.store), t.store, scratch, sandboxes),
    fleetSharing: realFleetSharing(t.store),
  });

  const page = b.page;
  await page.goto(t.server.url + '#/fleets');
  await page.getByRole('heading', { name: 'Fleets' }).waitFor();
  const groups = page.getByRole('table', { name: 'groups' });
  await groups.waitFor({ timeout: 30_000 });
  const row = groups.locator('tbody tr');
  assert.equal(await row.count(), 1, 'one group');
  const text = await row.first().innerText();
  assert.ok(text.includes(targets[0]!), 'web1 rehearses for it');
  assert.match(text, /3/);
  assert.match(text, /same release, packages and sources/);
  assert.match(text, /Debian GNU\/Linux 12 \(bookworm\), 3 packages \(dpkg\)/);
  assert.deepEqual(sandboxes.boots, [], 'nothing has booted yet');
  await screenshot(page, 'fleets-01-groups-before-boot');

  open();
  const r = await batch;
  assert.equal(r.ok, true, JSON.stringify(r.hosts.map((h) => [h.target, h.outcome, h.error])));
  const hosts = page.getByRole('table', { name: 'hosts' });
  const hostRow = (i: number) => hosts.locator('tbody tr').nth(i); // fleet order
  await hostRow(2).getByText(/own sandbox: differs from/).waitFor({ timeout: 15_000 });
  assert.match(await hostRow(1).innerText(), new RegExp(`took ${targets[0]!.replace(/[/.]/g, '\\$&')}'s rehearsal`));
  assert.match(await hostRow(1).innerText(), /13 of 13 delta paths verified identical; 6 host-specific paths kept/);
  assert.match(await hostRow(2).innerText(), /\/usr\/bin\/hello: content changed/);
  assert.match(await hostRow(0).innerText(), /own sandbox/);
  for (const i of [0, 1, 2]) {
    assert.ok((await hostRow(i).innerText()).startsWith(targets[i]!));
    assert.match(await hostRow(i).innerText(), /upgraded/);
  }
  // one machine, no pool named: each sandbox ran 'local'; the follower shows where the rehearsal it took ran
  assert.match(await hostRow(0).innerText(), /local\s+waited [\d.]+ s, rehearsal [\d.]+ s/);
  assert.match(await hostRow(1).innerText(), /local \(shared rehearsal\)\s+waited/);
  assert.doesNotMatch(await hostRow(1).innerText(), /rehearsal [\d.]+ s/, 'a shared rehearsal is timed on its owner only');
  await screenshot(page, 'fleets-02-done');
  runs.close();
});

test('Fleets: the member that rehearsed each host, its wait and rehearsal times, and a retry after a lost member', async () => {
  const targets = ['dir:/srv/pool-a', 'dir:/srv/pool-b'];
  const fake = fakeStageServices({ map1For: (target) => (target.endsWith('a') ? 'a' : 'b').repeat(64) });
  let lost = false;
  const runs = new RunStore(t.store);
  const batch = runBatch({
    store: runs, kind: 'rehearse', yes: false, options: { canary: 0, parallel: 2, maxFail: { count: 0 } }, sharing: false,
    hosts: targets.map((target) => ({ target, command: 'apt-get -y full-upgrade', checks: [], health: [], reboot: 'never' as const })),
    services: (input) => {
      const avoid = input.options.avoidMembers as string[] | undefined;
      const member = input.target.endsWith('a') || avoid?.includes('m1') ? 'm2' : 'm1';
      return {
        ...fake,
        // pool-a waits 1.5 s for a slot on m2; pool-b's first attempt loses m1 mid-upgrade
        placeSandbox: async (_a, io) => {
          const waited = input.target.endsWith('a') ? 1.5 : 0;
          await abortableSleep(waited * 1000, io.signal);
          return { placement: { member, waitedSeconds: waited } };
        },
        runUpgrade: async (a, io) => {
          if (member === 'm1' && !lost) { lost = true; throw new UnderstudyError('hypervisor-lost', 'pool member m1 was lost during the upgrade: the connection closed'); }
          return fake.runUpgrade(a, io);
        },
      };
    },
  });
  const r = await batch;
  assert.equal(r.ok, true, JSON.stringify(r.hosts.map((h) => [h.target, h.outcome, h.error])));
  const page = b.page;
  await page.goto(t.server.url + '#/fleets');
  const article = page.getByRole('article', { name: `batch ${r.batch}` });
  const hosts = article.getByRole('table', { name: 'hosts' });
  await hosts.waitFor({ timeout: 15_000 });
  const hostRow = (i: number) => hosts.locator('tbody tr').nth(i);
  // the screen polls: it may still show the batch as it was while running
  await hostRow(1).getByText(/retried: lost m1/).waitFor({ timeout: 15_000 });
  await hostRow(0).getByText(/rehearsal [\d.]+ s/).waitFor({ timeout: 15_000 });
  const [a, bRow] = [await hostRow(0).innerText(), await hostRow(1).innerText()];
  assert.match(a, /m2\s+waited 1\.5 s, rehearsal [\d.]+ s/, a);
  assert.doesNotMatch(a, /retried/);
  assert.match(bRow, /m2\s+waited [\d.]+ s, rehearsal [\d.]+ s\s+retried: lost m1 \(run \d{8}-\d{6}-[0-9a-f]+\)/, bRow);
  const retried = r.hosts[1]!.requeued![0]!.run;
  assert.ok(bRow.includes(retried) && retried !== r.hosts[1]!.run, 'names the attempt that was lost, not the retry');
  await screenshot(page, 'fleets-03-pool-members');
  runs.close();
});
