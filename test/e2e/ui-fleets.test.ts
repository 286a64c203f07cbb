// The Fleets screen on the real server and a real batch in the same store: three dir: clones (the third
// with a local edit to a file the upgrade replaces), real capture, grouping, verification and swaps; only
// the VM is a restored directory (test/unit/fleet/helpers/dir-sandbox.ts), held at its boot until the test
// has seen the groups. The UI shows the one group before anything boots, then each host's rehearsal: its
// own, the representative's verified, or its own because of the paths that differ.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { RunStore } from '../../main/app/run-store/run-store.ts';
import { runBatch } from '../../main/app/runs/batch-runner.ts';
import { realFleetSharing } from '../../main/app/runs/fleet-sharing.ts';
import { realStageServices } from '../../main/app/stage-services/real-stage-services.ts';
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
  await screenshot(page, 'fleets-02-done');
  runs.close();
});
