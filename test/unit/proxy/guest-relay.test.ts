// The guestfwd relay QEMU runs per guest connection, carrying it to the repository proxy: keep-alive
// requests and the guest's EOF pass through; a mirror directory is served and never escaped.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessPolicy } from '../../../main/adapters/proxy/access-policy.ts';
import { startForwardProxy, type ForwardProxy } from '../../../main/adapters/proxy/forward-proxy.ts';
import { mirrorRoutes, parseMirrorOption } from '../../../main/adapters/proxy/mirror-route.ts';
import { relayCommand } from '../../../main/adapters/proxy/relay-command.ts';

const REPO = 'http://demo-repo.understudy.invalid/';

/** Raw bytes in through the relay (as the guest sends them), everything it answers out. */
async function throughRelay(port: number, raw: string): Promise<{ code: unknown; out: string; err: string }> {
  const child = spawn('/bin/sh', ['-c', relayCommand('127.0.0.1', port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout.setEncoding('latin1').on('data', (c) => { out += c; });
  child.stderr.setEncoding('utf8').on('data', (c) => { err += c; });
  child.stdin.write(raw);
  child.stdin.end();
  const code = await new Promise((r) => child.on('close', r));
  return { code, out, err };
}

describe('guest relay to the repository proxy', () => {
  let root: string;
  let proxy: ForwardProxy;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'understudy-relay-test-'));
    mkdirSync(join(root, 'repo', 'pool'), { recursive: true });
    writeFileSync(join(root, 'repo', 'Packages'), 'Package: hello-service\n');
    writeFileSync(join(root, 'repo', 'Release'), 'Suite: demo\n');
    writeFileSync(join(root, 'repo', 'pool', 'a b.deb'), 'deb');
    writeFileSync(join(root, 'secret'), 'outside');
    symlinkSync('../secret', join(root, 'repo', 'escape'));
    symlinkSync('Packages', join(root, 'repo', 'inside'));
    const sources = [{ file: 'etc/apt/sources.list', line: 1, types: ['deb'], uri: REPO, suites: ['./'], components: [], options: {} }];
    proxy = await startForwardProxy({
      policy: new AccessPolicy({ sources: [{ host: 'demo-repo.understudy.invalid', port: 80 }], named: [] }),
      upstream: { noProxy: '' }, mirrors: mirrorRoutes([parseMirrorOption(join(root, 'repo'))], sources),
    });
  });
  after(async () => { await proxy.close(); rmSync(root, { recursive: true, force: true }); });

  it('carries keep-alive requests and the guest EOF, as QEMU guestfwd does', async () => {
    const h = 'Host: demo-repo.understudy.invalid\r\n';
    const r = await throughRelay(proxy.port, `GET ${REPO}Packages HTTP/1.1\r\n${h}\r\nGET ${REPO}pool/a%20b.deb HTTP/1.1\r\n${h}Connection: close\r\n\r\n`);
    assert.equal(r.code, 0);
    assert.equal(r.out.match(/HTTP\/1\.1 200 OK/g)?.length, 2);
    assert.ok(r.out.includes('Package: hello-service') && r.out.endsWith('deb'));
  });

  it('serves the mirror directory and nothing outside it', async () => {
    for (const [path, status] of [['inside', 200], ['./pool/a%20b.deb', 200], ['escape', 404], ['pool/..%2f..%2fsecret', 404],
      ['', 404], ['pool', 404], ['missing', 404], ['Packages%00', 404]] as const) {
      const r = await throughRelay(proxy.port, `GET ${REPO}${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.match(r.out, new RegExp(`^HTTP/1\\.1 ${status}`), path);
      assert.ok(!r.out.includes('outside'), path);
    }
  });

  it('ends the guest connection with a message when the proxy is gone', async () => {
    const gone = createServer();
    const port = await new Promise<number>((r) => gone.listen(0, '127.0.0.1', () => r((gone.address() as { port: number }).port)));
    await new Promise<void>((r) => gone.close(() => r()));
    const r = await throughRelay(port, '');
    assert.equal(r.code, 1);
    assert.match(r.err, /ECONNREFUSED/);
  });
});
