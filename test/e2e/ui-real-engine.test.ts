// The operator's story through the UI on the REAL engine: `understudy serve` as its own process (the CLI's
// composition root and stage services), Chromium, a `dir:` host made from the demo host tree, the local
// hello-service mirror. Rehearse 1.0 -> 2.0 in a sandbox VM, see the delta in Review, approve the swap,
// then roll back from the Done screen: the dir: host must equal its pre-upgrade map again, exactly.
// Skips (saying why) while the build has no stage services wired, or the demo images are not built.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { capture } from '../../main/adapters/capture/capture.ts';
import { demoHostImage, mirrorImage } from '../../main/adapters/qemu/image-cache.ts';
import { loadMap } from '../../main/adapters/store/map-store.ts';
import { diffMaps } from '../../main/core/domain/map-diff.ts';
import { openBrowser, screenshot, type TestBrowser } from './helpers/browser.ts';
import { spawnServe, type ServeProcess } from './helpers/serve-process.ts';

let work: string | undefined;
let serve: ServeProcess | undefined;
let b: TestBrowser | undefined;
let skipReason: string | undefined;
let host = '';
let mirror = '';

before(async () => {
  try {
    const image = await demoHostImage();
    mirror = (await mirrorImage()).dir;
    work = mkdtempSync(join(tmpdir(), 'understudy-e2e-real-'));
    host = join(work, 'host');
    execFileSync('cp', ['-a', '--reflink=auto', image.tree, host]);
  } catch (err) {
    skipReason = `demo images not available: ${(err as Error).message}`;
    return;
  }
  serve = await spawnServe(join(work, 'store'));
  b = await openBrowser();
});

after(async () => {
  await b?.close();
  await serve?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const dpkgVersion = (root: string, pkg: string): string | undefined => {
  const status = readFileSync(join(root, 'var/lib/dpkg/status'), 'utf8');
  const stanza = status.split('\n\n').find((s) => s.startsWith(`Package: ${pkg}\n`));
  return stanza?.match(/^Version: (.+)$/m)?.[1];
};

async function mapOf(dir: string, store: string) {
  const r = await capture({ target: `dir:${dir}`, store });
  return (await loadMap(store, r.map)).manifest;
}

test('UI on the real engine: rehearse, review, approve, done, rollback; the dir: host equals map1 again', { timeout: 20 * 60_000 }, async (t) => {
  if (skipReason || !serve || !b || !work) return t.skip(skipReason ?? 'setup failed');
  const page = b.page;
  assert.equal(dpkgVersion(host, 'hello-service'), '1.0');
  const before = await mapOf(host, join(work, 'reference-store'));

  await page.goto(serve.url + '#/new');
  await page.getByLabel('Target').fill(`dir:${host}`);
  await page.getByLabel('Upgrade command').fill('apt-get update && apt-get install -y hello-service=2.0');
  await page.getByLabel(/^Checks/).fill("dpkg-query -W -f='${Version}' hello-service | grep -qx 2.0");
  await page.getByLabel(/^Health checks/).fill('test -f var/lib/dpkg/status');
  await page.getByLabel(/^Package mirror/).fill(mirror);
  await page.getByRole('button', { name: 'Start upgrade' }).click();
  const started = await Promise.race([
    page.getByRole('heading', { name: /^upgrade dir:/ }).waitFor().then(() => 'run'),
    page.getByRole('alert').waitFor().then(async () => page.getByRole('alert').innerText()),
  ]);
  if (started !== 'run') {
    if (/not wired|not-implemented|not built/i.test(started)) return t.skip(`the build has no stage services wired: ${started}`);
    assert.fail(`starting the run failed: ${started}`);
  }

  try {
    // Live: the upgrade's own output arrives while the stages advance.
    await page.getByRole('log', { name: 'Command output' }).getByText(/hello-service/).first().waitFor({ timeout: 15 * 60_000 });
    await screenshot(page, 'real-01-run-live');

    // Review: the package delta and the changed files, straight from the sandbox.
    await page.getByRole('tab', { name: /Review/, selected: true }).waitFor({ timeout: 15 * 60_000 });
    const review = page.locator('.review');
    assert.match(await review.locator('tr', { hasText: 'hello-service' }).first().innerText(), /1\.0\s+→\s+2\.0/);
    assert.ok(await review.locator('.filegroups li').count() > 0, 'the file delta is listed');
    assert.equal(dpkgVersion(host, 'hello-service'), '1.0', 'the host is untouched before approval');
    await screenshot(page, 'real-02-review');

    // By now the sandbox has booted: its serial console should have reached the Live pane (checked last).
    await page.getByRole('tab', { name: 'Live' }).click();
    const serialLines = await page.getByRole('log', { name: 'Serial console' }).locator('.line').count();
    await page.getByRole('tab', { name: /Review/ }).click();
    await page.getByRole('button', { name: 'Approve and swap' }).click();

    // Done: the swap landed.
    await page.getByRole('tab', { name: 'Result', selected: true }).waitFor({ timeout: 10 * 60_000 });
    await page.locator('.outcome .badge', { hasText: 'upgraded' }).waitFor();
    assert.equal(dpkgVersion(host, 'hello-service'), '2.0');
    await screenshot(page, 'real-03-done');

    // Rollback from the Done screen, confirmed; then the host is exactly its pre-upgrade self.
    await page.getByRole('button', { name: /Roll back this host/ }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Roll back now' }).click();
    await page.getByRole('heading', { name: /^rollback dir:/ }).waitFor();
    await page.locator('.outcome .badge', { hasText: 'rolled-back' }).waitFor({ timeout: 10 * 60_000 });
    await screenshot(page, 'real-04-rolled-back');
    assert.equal(dpkgVersion(host, 'hello-service'), '1.0');
    assert.deepEqual(diffMaps(before, await mapOf(host, join(work, 'reference-store'))), { added: [], changed: [], removed: [] });
    assert.ok(serialLines > 0, 'sandbox serial console lines reached the UI (the boot stage must stream them as serial log events)');
  } catch (err) {
    await screenshot(page, 'real-failure').catch(() => undefined);
    throw new Error(`${(err as Error).message}\n--- understudy serve stderr (tail) ---\n${serve.stderr().slice(-3000)}`);
  }
});
