// Token enforcement on the real `serve` server: without the per-launch token nothing is served over
// HTTP (401), no WebSocket opens (401) and no command reaches the engine. With it, commands are
// validated against the contract before they run.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from './helpers/server.ts';

let t: TestServer;
let base: string;

before(async () => {
  t = await startTestServer();
  base = `http://127.0.0.1:${t.server.port}`;
});
after(async () => { await t.close(); });

/** Resolves with the HTTP status the upgrade was refused with, or 101 when the socket opened. */
function wsStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => { ws.close(); resolve(101); });
    ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
    ws.on('error', (err) => { if (!String(err).includes('Unexpected server response')) reject(err); });
  });
}

function connect(): Promise<{ call(cmd: string, args: unknown): Promise<any>; close(): void }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${t.server.port}/ws?token=${t.server.token}`);
    let id = 0;
    const pending = new Map<number, (v: unknown) => void>();
    ws.on('message', (d) => {
      const f = JSON.parse(d.toString());
      if ('id' in f) pending.get(f.id)?.(f.result);
    });
    ws.on('error', reject);
    ws.on('open', () => resolve({
      call: (cmd, args) => new Promise((res) => { const n = ++id; pending.set(n, res); ws.send(JSON.stringify({ id: n, cmd, args })); }),
      close: () => ws.close(),
    }));
  });
}

test('HTTP without the token, or with a wrong one, is 401 and serves nothing', async () => {
  for (const path of ['/', '/app.js', '/app.css', '/index.html', `/?token=${'x'.repeat(t.server.token.length)}`, '/?token=']) {
    const res = await fetch(base + path);
    assert.equal(res.status, 401, path);
    assert.doesNotMatch(await res.text(), /<script|understudy-token/);
  }
  assert.equal((await fetch(base + '/', { method: 'POST', body: '{}' })).status, 401);
});

test('the page with the token sets a port-scoped HttpOnly cookie that authorizes its assets', async () => {
  const res = await fetch(`${base}/?token=${t.server.token}`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'.*script-src 'self'/);
  const cookie = res.headers.get('set-cookie') ?? '';
  assert.match(cookie, new RegExp(`^understudy-token-${t.server.port}=`));
  assert.match(cookie, /HttpOnly/);
  const asset = await fetch(`${base}/app.js`, { headers: { cookie: cookie.split(';')[0]! } });
  assert.equal(asset.status, 200);
  const wrongCookie = await fetch(`${base}/app.js`, { headers: { cookie: `understudy-token-${t.server.port}=nope` } });
  assert.equal(wrongCookie.status, 401);
});

test('with the token, only the bundle is served: traversal and malformed paths are 404', async () => {
  const q = `?token=${t.server.token}`;
  for (const path of ['/%E0%A4%A', '/..%2Fpackage.json', '/../package.json', '/.env', '/nothing.js', '/ws']) {
    const res = await fetch(base + path + q);
    assert.equal(res.status, 404, path);
  }
  assert.equal((await fetch(base + '/' + q, { method: 'POST' })).status, 405);
});

test('a foreign Host header is refused even with the token (DNS rebinding)', async () => {
  const { request } = await import('node:http');
  const status = await new Promise<number>((resolve, reject) => {
    request({ host: '127.0.0.1', port: t.server.port, path: `/?token=${t.server.token}`, headers: { host: `evil.example:${t.server.port}` } },
      (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject).end();
  });
  assert.equal(status, 401);
});

test('WebSocket without the token, with a wrong token, or from a foreign origin is 401', async () => {
  const ws = `ws://127.0.0.1:${t.server.port}/ws`;
  assert.equal(await wsStatus(ws), 401);
  assert.equal(await wsStatus(`${ws}?token=wrong`), 401);
  assert.equal(await wsStatus(`${ws}?token=${t.server.token}`, { Origin: 'http://evil.example' }), 401);
  // The cookie alone does not open the socket: the page must pass the token explicitly.
  assert.equal(await wsStatus(ws, { cookie: `understudy-token-${t.server.port}=${t.server.token}` }), 401);
  assert.equal(await wsStatus(`${ws}?token=${t.server.token}`), 101);
});

test('nothing ran: refused requests never reached the engine (the run store is empty)', async () => {
  const c = await connect();
  try {
    const runs = await c.call('runs:list', {});
    assert.deepEqual(runs, { ok: true, value: [] });
  } finally { c.close(); }
});

test('commands are validated against the contract before anything runs', async () => {
  const c = await connect();
  try {
    const unknown = await c.call('run:explode', {});
    assert.equal(unknown.ok, false);
    assert.equal(unknown.error.code, 'bad-command');
    const bad = await c.call('run:start', { kind: 'upgrade', target: 'dir:/nowhere', checks: 'not-a-list' });
    assert.equal(bad.ok, false);
    assert.equal(bad.error.code, 'usage');
    const badKind = await c.call('run:start', { kind: 'format-disk', target: 'dir:/x', run: 'true' });
    assert.equal(badKind.ok, false);
    assert.deepEqual(await c.call('runs:list', {}), { ok: true, value: [] }, 'no run was recorded');
    const missing = await c.call('runs:get', { run: 'no-such-run' });
    assert.equal(missing.ok, false);
    assert.equal(missing.error.code, 'usage');
  } finally { c.close(); }
});
