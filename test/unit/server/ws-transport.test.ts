// The renderer's WebSocket transport against the real server: typed round trips, events, and
// requests in flight when the server goes away resolve as `disconnected` instead of hanging.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { createWsTransport, type ConnectionState } from '../../../main/contract/ws-transport.ts';
import { createEngine } from '../../../main/server/engine.ts';
import { startServer } from '../../../main/server/http-server.ts';

test('WebSocket transport: envelopes, connection state, disconnect', async () => {
  const store = mkdtempSync(join(tmpdir(), 'understudy-ws-'));
  const dist = mkdtempSync(join(tmpdir(), 'understudy-ws-dist-'));
  const engine = await createEngine({ store });
  const server = await startServer({ engine, distDir: dist });
  const t = createWsTransport(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`, WebSocket as unknown as new (url: string) => globalThis.WebSocket);
  const states: ConnectionState[] = [];
  t.onState((s) => states.push(s));
  try {
    assert.deepEqual(await t.invoke('runs:list', {}), { ok: true, value: [] });
    assert.deepEqual(await t.invoke('maps:list', {}), { ok: true, value: [] });
    const bad = await t.invoke('hosts:assess', { target: '' });
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.equal(bad.error.code, 'usage');
    // Without stage services wired, starting a run says so plainly and records nothing.
    const start = await t.invoke('run:start', { kind: 'rehearse', target: 'dir:/x', run: 'true' });
    assert.equal(start.ok, false);
    if (!start.ok) assert.equal(start.error.code, 'not-implemented');
    assert.deepEqual(await t.invoke('runs:list', {}), { ok: true, value: [] });
    assert.ok(states.includes('open'));
    await server.close();
    const after = await t.invoke('runs:list', {});
    assert.equal(after.ok, false);
    if (!after.ok) assert.equal(after.error.code, 'disconnected');
  } finally {
    t.close();
    await server.close().catch(() => undefined);
    await engine.close(5000);
    rmSync(store, { recursive: true, force: true });
    rmSync(dist, { recursive: true, force: true });
  }
});
