// The loopback mirror server and the guestfwd relay QEMU runs per guest connection.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveMirror, type MirrorServer } from '../../../main/adapters/mirror/mirror-server.ts';
import { relayCommand, relayCommandForUrl } from '../../../main/adapters/mirror/relay-command.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';

/** A raw request, so paths reach the server exactly as written (no client-side normalisation). */
function get(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c) => { body += c; }).on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject).end();
  });
}

describe('mirror server', () => {
  let root: string;
  let m: MirrorServer;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'understudy-mirror-test-'));
    mkdirSync(join(root, 'repo', 'pool'), { recursive: true });
    writeFileSync(join(root, 'repo', 'Packages'), 'Package: hello-service\n');
    writeFileSync(join(root, 'repo', 'pool', 'a b.deb'), 'deb');
    writeFileSync(join(root, 'secret'), 'outside');
    symlinkSync('../secret', join(root, 'repo', 'escape'));
    symlinkSync('Packages', join(root, 'repo', 'inside'));
    m = await serveMirror(join(root, 'repo'));
  });
  after(async () => { await m.close(); rmSync(root, { recursive: true, force: true }); });

  it('serves files of the mirror directory', async () => {
    assert.deepEqual(await get(m.port, '/Packages'), { status: 200, body: 'Package: hello-service\n' });
    assert.deepEqual(await get(m.port, '/./pool/a%20b.deb'), { status: 200, body: 'deb' });
    assert.deepEqual(await get(m.port, '/inside'), { status: 200, body: 'Package: hello-service\n' });
    assert.deepEqual(await get(m.port, '/Packages', 'HEAD'), { status: 200, body: '' });
  });

  it('never serves anything outside it, nor listings, nor writes', async () => {
    for (const p of ['/../secret', '/%2e%2e/secret', '/pool/..%2f..%2fsecret', '/escape', '/', '/pool', '/missing', '/Packages%00']) {
      const r = await get(m.port, p);
      assert.equal(r.status, 404, p);
      assert.ok(!r.body.includes('outside'), p);
    }
    assert.equal((await get(m.port, '/Packages', 'PUT')).status, 405);
  });

  it('refuses a mirror that is not a directory', async () => {
    await assert.rejects(serveMirror(join(root, 'secret')), (e) => isUnderstudyError(e) && e.code === 'usage');
  });

  it('relays a connection on stdin/stdout to the server, as QEMU guestfwd does', async () => {
    const child = spawn('/bin/sh', ['-c', relayCommand('127.0.0.1', m.port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c) => { out += c; });
    // Two requests on one connection (apt keeps connections alive), then EOF from the "guest".
    child.stdin.write('GET /Packages HTTP/1.1\r\nHost: 10.0.2.100\r\n\r\nGET /pool/a%20b.deb HTTP/1.1\r\nHost: 10.0.2.100\r\nConnection: close\r\n\r\n');
    child.stdin.end();
    const code = await new Promise((r) => child.on('close', r));
    assert.equal(code, 0);
    assert.equal(out.match(/HTTP\/1\.1 200 OK/g)?.length, 2);
    assert.ok(out.includes('Package: hello-service') && out.endsWith('deb'));
  });

  it('relay ends the guest connection with a message when the mirror is gone', async () => {
    const gone = await serveMirror(join(root, 'repo'));
    await gone.close();
    const child = spawn('/bin/sh', ['-c', relayCommand('127.0.0.1', gone.port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (c) => { err += c; });
    child.stdout.resume();
    const code = await new Promise((r) => child.on('close', r));
    assert.equal(code, 1);
    assert.match(err, /ECONNREFUSED/);
  });

  it('relay commands for --mirror URLs keep only host and port', () => {
    assert.match(relayCommandForUrl('http://mirror.example:8080/debian/'), /relay\.mjs' 'mirror\.example' '8080'$/);
    assert.match(relayCommandForUrl('http://[::1]/x'), /'::1' '80'$/);
    assert.throws(() => relayCommandForUrl('https://h/'), (e) => isUnderstudyError(e) && e.code === 'usage');
    assert.throws(() => relayCommandForUrl('not a url'), (e) => isUnderstudyError(e) && e.code === 'usage');
  });
});
