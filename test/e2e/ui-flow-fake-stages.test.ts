// UI-flow test with FAKE stage services (main/adapters/fake) injected at the composition root: it
// exercises the real server, the real contract, the real run store and runner, and the real UI in
// Chromium — only the stage work (VMs, SSH, swap) is faked, so the whole flow fits in seconds. The
// same flow on the real engine with a dir: target lives in ui-real-engine.test.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { capture } from '../../main/adapters/capture/capture.ts';
import { fakeStageServices, type FakeStageServices } from '../../main/adapters/fake/fake-stage-services.ts';
import type { StageIo } from '../../main/core/workflow/stage-services.ts';
import { RunStore } from '../../main/app/run-store/run-store.ts';
import { openBrowser, screenshot, type TestBrowser } from './helpers/browser.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let t: TestServer;
let b: TestBrowser;
let fake: FakeStageServices;
let tree: string;
let target: string;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Fake stages that also talk: serial console while booting, command output while upgrading. */
function talkingFakes(): FakeStageServices {
  const f = fakeStageServices({
    delayMs: { preflight: 150, captureHost: 500, buildImage: 300, bootSandbox: 900, runUpgrade: 900, runChecks: 300, captureSandbox: 400, swap: 300, restart: 200, checkHealth: 200, rollback: 400 },
    conflicts: [{ path: 'etc/hello/hello.conf', host: 'edited by an operator', sandbox: 'new default port' }],
    keptBack: [
      { path: 'etc/fstab', outcome: 'merged', sandbox: 'content changed', sandboxDiff: '@@ -1,2 +1,3 @@\n /dev/vda / ext4 rw 0 1\n+tmpfs /srv/scratch tmpfs defaults 0 0',
        hostDiff: '@@ -1,1 +1,2 @@\n UUID=1234 / ext4 errors=remount-ro 0 1\n+tmpfs /srv/scratch tmpfs defaults 0 0' },
      { path: 'etc/ssh/ssh_host_ed25519_key', outcome: 'identity', sandbox: 'content changed', why: 'the host\'s identity: its own is kept unless chosen' },
      { path: 'var/log/dpkg.log', outcome: 'runtime', sandbox: 'content changed' },
    ],
  });
  const boot = f.bootSandbox;
  f.bootSandbox = async (a, io: StageIo) => {
    for (const line of ['SeaBIOS (version 1.16.2)', 'Booting from ROM...', '[    0.000000] Linux version 6.1.0-cloud-amd64', 'Debian GNU/Linux 12 sandbox ttyS0']) io.log('serial', 'console', line);
    return boot(a, io);
  };
  const upgrade = f.runUpgrade;
  f.runUpgrade = async (a, io: StageIo) => {
    // A command that never ends, for the Cancel test: waits until the stage is aborted.
    if (a.command.includes('sleep infinity')) {
      io.log('stdout', 'upgrade', 'waiting forever');
      await new Promise((_, reject) => io.signal.addEventListener('abort', () => reject(io.signal.reason), { once: true }));
    }
    io.log('stdout', 'upgrade', 'Reading package lists... Done');
    io.log('stdout', 'upgrade', 'Unpacking hello-service (2.0) over (1.0) ...');
    io.log('stderr', 'upgrade', 'debconf: delaying package configuration');
    io.progress({ step: 'fetching', current: 3 * 2 ** 20, total: 8 * 2 ** 20, bytesPerSec: 2 ** 20, etaSec: 5 });
    return upgrade(a, io);
  };
  const checks = f.runChecks;
  // A check containing 'exit 1' fails, as a real shell would.
  f.runChecks = async (a, io: StageIo) => {
    const r = await checks(a, io);
    return { checks: r.checks.map((c) => (c.cmd.includes('exit 1') ? { ...c, ok: false, exitCode: 1 } : c)) };
  };
  return f;
}

async function startFromForm(kind: 'upgrade' | 'rehearse', command: string, checksText: string): Promise<void> {
  const page = b.page;
  await page.goto(t.server.url + '#/new');
  await page.getByLabel('Target').fill('dir:/srv/roots/web3');
  if (kind === 'rehearse') await page.getByLabel(/Rehearse only/).check();
  await page.getByLabel('Upgrade command').fill(command);
  await page.getByLabel(/^Checks/).fill(checksText);
  await page.getByRole('button', { name: kind === 'upgrade' ? 'Start upgrade' : 'Start rehearsal' }).click();
  await page.getByRole('heading', { name: new RegExp(`${kind} dir:/srv/roots/web3`) }).waitFor();
}

before(async () => {
  fake = talkingFakes();
  t = await startTestServer(fake);
  // A real map of a small host tree, so Hosts shows what capture recorded.
  tree = mkdtempSync(join(tmpdir(), 'understudy-e2e-host-'));
  mkdirSync(join(tree, 'usr', 'bin'), { recursive: true });
  mkdirSync(join(tree, 'etc', 'hello'), { recursive: true });
  writeFileSync(join(tree, 'usr', 'bin', 'hello-service'), 'hello-service 1.0\n'.repeat(2000));
  writeFileSync(join(tree, 'etc', 'hello', 'hello.conf'), 'port=8080\n');
  target = `dir:${tree}`;
  await capture({ target, store: t.store });
  b = await openBrowser();
});
after(async () => {
  await b?.close();
  await t?.close();
  if (tree) rmSync(tree, { recursive: true, force: true });
});

test('UI flow (fake stages): start, watch stages and logs, review, approve, done, rollback, history', async () => {
  const page = b.page;
  await page.goto(t.server.url);
  await page.getByRole('heading', { name: 'Hosts' }).waitFor();
  await screenshot(page, '01-hosts-empty');

  // New upgrade
  await page.getByRole('link', { name: 'New upgrade' }).first().click();
  await page.getByLabel('Target').fill(target);
  await page.getByLabel('Upgrade command').fill('apt-get install -y hello-service=2.0');
  await page.getByLabel(/^Checks/).fill('test -x /usr/bin/hello-service\ncurl -fsS http://127.0.0.1:8080/health');
  await page.getByLabel(/^Health checks/).fill('true');
  await screenshot(page, '02-new-upgrade');
  await page.getByRole('button', { name: 'Start upgrade' }).click();

  // Run: stages advance, command output and serial console arrive live.
  await page.getByRole('heading', { name: new RegExp(`upgrade ${escape(target)}`) }).waitFor();
  const stage = (name: string) => page.locator('.timeline li', { hasText: new RegExp(`^.${name}`) });
  await page.locator('.timeline li.st-active').first().waitFor();
  await page.getByRole('log', { name: 'Serial console' }).getByText('Booting from ROM...').waitFor();
  await page.getByRole('log', { name: 'Command output' }).getByText('Unpacking hello-service (2.0) over (1.0) ...').waitFor();
  assert.equal(await stage('preflight').getAttribute('class'), 'stage st-done');
  await page.getByRole('progressbar').waitFor();
  await screenshot(page, '03-run-live');

  // Review: package and file delta, conflict needs a choice before Approve.
  await page.getByRole('tab', { name: /Review/, selected: true }).waitFor({ timeout: 20_000 });
  const review = page.locator('.review');
  await review.getByRole('cell', { name: 'hello-service', exact: true }).waitFor();
  assert.match(await review.locator('tr', { hasText: 'hello-service' }).first().innerText(), /1\.0\s+→\s+2\.0/);
  await review.locator('.filegroups summary', { hasText: '/usr/bin' }).waitFor();
  await review.locator('.filegroups li', { hasText: 'hello-service' }).waitFor();
  await review.getByText('etc/hello/hello.conf').waitFor();
  // what the sandbox reached, and what it was refused
  await review.locator('.network td', { hasText: 'deb.example' }).waitFor();
  assert.match(await review.locator('.network .refusals').innerText(), /elsewhere\.example\/x.*not a repository/);
  // what the run did to sandbox-only paths: the fstab line merged into the host's, the host key kept unless ticked
  const kept = review.locator('.kept-back');
  assert.match(await kept.locator('tr', { hasText: 'etc/fstab' }).innerText(), /merged/);
  assert.match(await kept.locator('tr', { hasText: 'var/log/dpkg.log' }).innerText(), /runtime state: never applied/);
  const takeKey = kept.locator('tr', { hasText: 'ssh_host_ed25519_key' }).getByRole('checkbox');
  assert.equal(await takeKey.isChecked(), false, 'the host\'s identity is kept by default');
  const lands = kept.locator('tr', { hasText: 'etc/fstab' }).locator('details', { hasText: 'what lands' });
  await lands.locator('summary').click();
  assert.match(await lands.locator('pre').innerText(), /^ UUID=1234 .*\n\+tmpfs \/srv\/scratch/m);
  const approve = page.getByRole('button', { name: 'Approve and swap' });
  assert.equal(await approve.isDisabled(), true, 'approve waits for a choice on every conflict');
  await screenshot(page, '04-review');
  await page.getByRole('radiogroup', { name: 'Keep for etc/hello/hello.conf' }).getByLabel("upgrade's").check();
  assert.equal(await approve.isDisabled(), false);
  await approve.click();

  // Done
  await page.getByRole('tab', { name: 'Result', selected: true }).waitFor({ timeout: 20_000 });
  await page.locator('.outcome .badge', { hasText: 'upgraded' }).waitFor();
  assert.equal(await stage('swapping').getAttribute('class'), 'stage st-done');
  await screenshot(page, '05-done');
  assert.equal(fake.count('swap'), 1);
  const upgradeUrl = page.url();

  // Rollback, behind a confirmation.
  await page.getByRole('button', { name: /Roll back this host/ }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await screenshot(page, '06-rollback-confirm');
  await dialog.getByRole('button', { name: 'Roll back now' }).click();
  await page.waitForURL((u) => u.toString() !== upgradeUrl);
  await page.getByRole('heading', { name: new RegExp(`rollback ${escape(target)}`) }).waitFor();
  await page.locator('.outcome .badge', { hasText: 'rolled-back' }).waitFor({ timeout: 20_000 });
  assert.equal(fake.count('rollback'), 1);
  await screenshot(page, '07-rollback-done');

  // The upgrade can no longer be rolled back twice.
  await page.goto(upgradeUrl);
  await page.locator('.outcome .badge', { hasText: 'upgraded' }).waitFor();
  assert.equal(await page.getByRole('button', { name: /Roll back this host/ }).count(), 0);

  // History: both runs; filter by outcome; open one with the keyboard.
  await page.keyboard.press('Alt+3');
  await page.getByRole('heading', { name: 'History' }).waitFor();
  await page.locator('tbody tr').nth(1).waitFor();
  assert.equal(await page.locator('tbody tr').count(), 2);
  await screenshot(page, '08-history');
  await page.getByLabel('Filter by outcome').selectOption('rolled-back');
  assert.equal(await page.locator('tbody tr').count(), 1);
  await page.locator('tbody tr').first().focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: /rollback/ }).waitFor();

  // Hosts: the target with its real last map and its last run.
  await page.keyboard.press('Alt+1');
  const row = page.locator('tbody tr', { hasText: target });
  await row.waitFor();
  assert.match(await row.innerText(), /\b2\b/, 'two files in the captured map');
  assert.match(await row.innerText(), /rolled-back/);
  // Protection verdict on demand: the real assess over the store (host probes are not part of this test).
  await row.getByRole('button', { name: 'Assess' }).click();
  const report = page.locator('.detail-row .assess');
  await report.getByText('last verified map').waitFor();
  await report.getByText('store intact').waitFor();
  await screenshot(page, '09-hosts');
});

test('UI flow (fake stages): a failing check ends check-failed, host untouched, no rollback offered', async () => {
  const page = b.page;
  const swapsBefore = fake.count('swap');
  await startFromForm('upgrade', 'apt-get install -y hello-service=3.0', 'curl -fsS http://127.0.0.1:8080/health || exit 1');
  await page.getByRole('tab', { name: 'Result', selected: true }).waitFor({ timeout: 20_000 });
  await page.locator('.outcome .badge', { hasText: 'check-failed' }).waitFor();
  await page.getByText('the host was not touched').waitFor();
  assert.equal(await page.getByRole('button', { name: /Roll back/ }).count(), 0);
  assert.equal(fake.count('swap'), swapsBefore, 'nothing was swapped');
  await page.getByRole('tab', { name: 'Review' }).click();
  await page.locator('.checks li.bad', { hasText: 'exit 1' }).waitFor();
  await screenshot(page, '10-check-failed');
});

test('UI flow (fake stages): Cancel stops a running stage and the run ends cancelled', async () => {
  const page = b.page;
  await startFromForm('rehearse', 'sleep infinity', '');
  await page.getByRole('log', { name: 'Command output' }).getByText('waiting forever').waitFor({ timeout: 20_000 });
  await page.getByRole('button', { name: 'Cancel run' }).click();
  await page.locator('.outcome .badge', { hasText: 'cancelled' }).waitFor({ timeout: 20_000 });
  assert.equal(await page.locator('.timeline li.st-cancelled', { hasText: 'upgrading' }).count(), 1);
  await screenshot(page, '11-cancelled');
});

test('UI flow (fake stages): an interrupted run is listed with Resume; resuming rewinds it to a new sandbox and it finishes', async () => {
  // another orchestrator on the same store, killed with SIGKILL while the upgrade ran in the sandbox
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'unit', 'run-store', 'fixtures', 'run-child.ts'),
    t.store, join(t.store, 'killed.calls'), 'start', 'runUpgrade', '--rehearse'], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  const runs = new RunStore(t.store);
  try {
    for (let i = 0; runs.get('run-runUpgrade')?.state !== 'upgrading'; i++) {
      assert.ok(i < 400, 'the child run reached upgrading');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally { runs.close(); }
  child.kill('SIGKILL');
  await exited;

  const page = b.page;
  await page.goto(t.server.url + '#/history');
  const row = page.getByRole('row', { name: 'run run-runUpgrade' });
  await row.locator('.badge', { hasText: 'interrupted' }).waitFor();
  await row.getByText('upgrading').waitFor();
  await screenshot(page, '12-history-interrupted');
  await row.getByRole('button', { name: 'Resume run run-runUpgrade' }).click();
  await page.getByRole('heading', { name: /^rehearse dir:\/srv\/fake/ }).waitFor();
  await page.locator('.outcome .badge', { hasText: 'rehearsed' }).waitFor({ timeout: 20_000 });
  await page.getByRole('list', { name: 'Resumes' }).getByText('resumed: rewound from upgrading to booting (sandbox gone)').waitFor();
  await page.locator('.timeline li', { hasText: 'upgrading (attempt 2)' }).waitFor();
  await screenshot(page, '13-resumed');
});
