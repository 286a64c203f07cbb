// The renderer on the Electron path, without Electron (its binary is not available here): the page gets
// a `window.understudy` api of exactly the preload's shape (invoke + on), bridged to the same command
// router the IPC router uses, and must work through it alone — no WebSocket is ever opened.
// Stage work is faked (main/adapters/fake); the router, engine, run store and runner are real.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fakeStageServices } from '../../main/adapters/fake/fake-stage-services.ts';
import { createCommandRouter } from '../../main/server/command-router.ts';
import { openBrowser, screenshot, type TestBrowser } from './helpers/browser.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

/** Exactly the preload's surface: invoke(cmd, args) and on(event, cb) -> unsubscribe. */
const BRIDGE = `(() => {
  const listeners = new Map();
  window.__ipcEmit = (event, payload) => { for (const cb of listeners.get(event) ?? []) cb(payload); };
  window.understudy = {
    invoke: (cmd, args) => window.__ipcInvoke(cmd, args),
    on(event, cb) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event).add(cb);
      return () => listeners.get(event).delete(cb);
    },
  };
})();`;

let t: TestServer;
let b: TestBrowser;

before(async () => {
  t = await startTestServer(fakeStageServices({ delayMs: 150 }));
  b = await openBrowser();
});
after(async () => {
  await b?.close();
  await t?.close();
});

test('renderer over the preload-shaped api: start a rehearsal and follow it to the result', async () => {
  const page = b.page;
  const sockets: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  const route = createCommandRouter(t.engine);
  const calls: string[] = [];
  await page.exposeBinding('__ipcInvoke', async (_src, cmd: string, args: unknown) => { calls.push(cmd); return route(cmd, args); });
  // The api is defined before the bundle runs by prepending it to app.js (the page's CSP allows no inline
  // script, and playwright's init scripts do not run with this Chromium).
  await page.route(/\/app\.js$/, async (r) => {
    const res = await r.fetch();
    await r.fulfill({ response: res, body: BRIDGE + '\n' + (await res.text()) });
  });
  // Engine events reach the page the way ipc-router.ts sends them: (event name, payload).
  const push = (event: string, payload: unknown) => { void page.evaluate(([e, p]) => (window as any).__ipcEmit(e, p), [event, payload] as const).catch(() => undefined); };
  const unsubscribe = t.engine.subscribe({ event: (e) => push('run:event', e), updated: (s) => push('run:updated', s) });
  try {
    await page.goto(t.server.url + '#/new');
    await page.getByLabel('Target').fill('dir:/srv/roots/ipc');
    await page.getByLabel(/Rehearse only/).check();
    await page.getByLabel('Upgrade command').fill('apt-get install -y hello-service=2.0');
    await page.getByRole('button', { name: 'Start rehearsal' }).click();
    await page.getByRole('heading', { name: /rehearse dir:\/srv\/roots\/ipc/ }).waitFor();
    await page.locator('.outcome .badge', { hasText: 'rehearsed' }).waitFor({ timeout: 20_000 });
    // preflight, capturing, building, waiting for a hypervisor, booting, upgrading, checking, capturing2, releasing
    assert.equal(await page.locator('.timeline li.st-done').count(), 9);
    await screenshot(page, '12-ipc-rehearsed');
    assert.ok(calls.includes('run:start') && calls.includes('runs:get'), calls.join(','));
    assert.deepEqual(sockets, [], 'the renderer used the api, not a WebSocket');
  } finally {
    unsubscribe();
  }
});
