// understudy's repository proxy on loopback, against real loopback servers: forwarding with the request's
// own Host, CONNECT tunnels, refusals (not in the sources; restricted addresses unless named), upstream
// failures, mirror directories, the download cache and an upstream proxy.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createTcpServer, connect, type Server as TcpServer } from 'node:net';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessPolicy } from '../../../main/adapters/proxy/access-policy.ts';
import { DownloadCache } from '../../../main/adapters/proxy/download-cache.ts';
import { startForwardProxy, type ForwardProxy } from '../../../main/adapters/proxy/forward-proxy.ts';
import { upstreamChoice } from '../../../main/adapters/proxy/upstream-proxy.ts';
import { mirrorRoutes, parseMirrorOption } from '../../../main/adapters/proxy/mirror-route.ts';

const listen = (s: Server | TcpServer) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)));

/** GET/HEAD through the proxy; resolves status, headers and body. */
function viaProxy(proxyPort: number, url: string, method = 'GET'): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port: proxyPort, method, path: url, headers: { host: new URL(url).host } }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

/** CONNECT through the proxy, then send `send` and read until the far side closes. */
function tunnel(proxyPort: number, target: string, send: string): Promise<{ head: string; data: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(proxyPort, '127.0.0.1');
    let buf = '';
    s.setEncoding('latin1');
    s.on('data', (c: string) => {
      buf += c;
      if (buf.includes('\r\n\r\n') && buf.startsWith('HTTP/1.1 200') && send) { s.write(send); s.end(); send = ''; }
    });
    s.on('end', () => { const i = buf.indexOf('\r\n\r\n'); resolve({ head: buf.slice(0, i), data: buf.slice(i + 4) }); });
    s.on('error', reject);
    s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  });
}

describe('forward proxy', () => {
  let dir: string, store: string, repo: Server, echo: TcpServer, repoPort: number, echoPort: number, closedPort: number;
  const seen: Array<{ host?: string; url?: string }> = [];
  const resolve = async (h: string) => {
    if (h.endsWith('.test')) return ['127.0.0.1'];
    throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  };
  const proxies: ForwardProxy[] = [];
  const start = async (o: { sources?: Array<{ host: string; port: number }>; named?: Array<{ host: string; port?: number }>; mirror?: string[]; upstream?: string }) => {
    const policy = new AccessPolicy({ sources: o.sources ?? [], named: o.named ?? [], resolve });
    const sources = (o.sources ?? []).map((s, i) => ({ file: 'etc/apt/sources.list', line: i + 1, types: ['deb'], uri: `http://${s.host}:${s.port}/debian`, suites: ['x'], components: ['main'], options: {} }));
    const p = await startForwardProxy({
      policy, upstream: upstreamChoice(o.upstream, {}), cache: new DownloadCache(store), connectTimeoutMs: 5_000,
      mirrors: mirrorRoutes((o.mirror ?? []).map(parseMirrorOption), sources),
    });
    proxies.push(p);
    return p;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'understudy-proxy-test-'));
    store = join(dir, 'store');
    repo = createServer((req, res) => {
      seen.push({ host: req.headers.host, url: req.url });
      if (req.url === '/redirect') { res.writeHead(302, { location: 'http://cdn.test:9/x.deb' }).end(); return; }
      if (req.url?.startsWith('/debian/dists/by-hash/SHA256/')) { res.writeHead(200).end('index-body'); return; }
      const body = `body of ${req.url} for ${req.headers.host}`;
      res.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(req.method === 'HEAD' ? undefined : body);
    });
    echo = createTcpServer((s) => { s.on('data', (c) => s.write(Buffer.concat([Buffer.from('echo:'), c]))); s.on('end', () => s.end()); });
    repoPort = await listen(repo);
    echoPort = await listen(echo);
    const closed = createTcpServer();
    closedPort = await listen(closed);
    await new Promise<void>((r) => closed.close(() => r()));
  });
  after(async () => {
    for (const p of proxies) await p.close();
    repo.close(); echo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('forwards a named host with its own Host header and counts it', async () => {
    const p = await start({ named: [{ host: 'repo.test', port: repoPort }] });
    const r = await viaProxy(p.port, `http://repo.test:${repoPort}/debian/dists/x/InRelease`);
    assert.equal(r.status, 200);
    assert.equal(r.body, `body of /debian/dists/x/InRelease for repo.test:${repoPort}`);
    const h = p.report().hosts[0]!;
    assert.deepEqual([h.host, h.port, h.requests, h.bytes, h.cachedBytes], ['repo.test', repoPort, 1, r.body.length, 0]);
  });

  it('refuses hosts not in the sources (403, recorded once with the first path)', async () => {
    const p = await start({ named: [{ host: 'repo.test', port: repoPort }] });
    const a = await viaProxy(p.port, 'http://elsewhere.test/first');
    const b = await viaProxy(p.port, 'http://elsewhere.test/second');
    assert.equal(a.status, 403);
    assert.equal(b.status, 403);
    assert.match(a.body, /elsewhere\.test is not a repository of the host's apt sources \(allow it with --allow-host elsewhere\.test:80\)/);
    assert.deepEqual(p.report().refusals.map((x) => [x.host, x.port, x.path, x.count]), [['elsewhere.test', 80, '/first', 2]]);
    assert.equal((await tunnel(p.port, 'elsewhere.test:443', '')).head.split('\r\n')[0], 'HTTP/1.1 403 Forbidden');
  });

  it('refuses a source that resolves to loopback, and an IP literal on loopback, unless named', async () => {
    const p = await start({ sources: [{ host: 'sneaky.test', port: repoPort }, { host: '127.0.0.1', port: repoPort }] });
    const a = await viaProxy(p.port, `http://sneaky.test:${repoPort}/debian/x`);
    assert.equal(a.status, 403);
    assert.match(a.body, /sneaky\.test resolves to 127\.0\.0\.1: loopback.*--allow-host sneaky\.test:\d+/);
    const b = await viaProxy(p.port, `http://127.0.0.1:${repoPort}/debian/x`);
    assert.equal(b.status, 403);
    assert.match(b.body, /127\.0\.0\.1: loopback/);
    assert.match((await tunnel(p.port, `127.0.0.1:${echoPort}`, '')).head, /403/);
    const named = await start({ named: [{ host: '127.0.0.1', port: repoPort }] });
    assert.equal((await viaProxy(named.port, `http://127.0.0.1:${repoPort}/debian/x`)).status, 200);
  });

  it('tunnels CONNECT to an allowed host:port, and only there', async () => {
    const p = await start({ named: [{ host: 'tls.test', port: echoPort }] });
    const t = await tunnel(p.port, `tls.test:${echoPort}`, 'hello');
    assert.equal(t.head, 'HTTP/1.1 200 Connection Established');
    assert.equal(t.data, 'echo:hello');
    const h = p.report().hosts.find((x) => x.host === 'tls.test')!;
    assert.deepEqual([h.tunnels, h.bytes], [1, 'echo:hello'.length]);
  });

  it('records upstream failures with their cause: refused, name not resolved', async () => {
    const p = await start({ named: [{ host: 'down.test', port: closedPort }, { host: 'nowhere.invalid' }] });
    const a = await viaProxy(p.port, `http://down.test:${closedPort}/debian/dists/x/InRelease`);
    assert.equal(a.status, 502);
    assert.match(a.body, /connection refused/);
    const b = await viaProxy(p.port, 'http://nowhere.invalid/x');
    assert.equal(b.status, 502);
    const t = await tunnel(p.port, `down.test:${closedPort}`, '');
    assert.match(t.head, /502/);
    assert.deepEqual(p.report().failures.map((f) => [f.host, f.cause, f.count]), [
      ['down.test', 'connection refused', 2], ['nowhere.invalid', 'name not resolved (ENOTFOUND)', 1]]);
  });

  it('keeps pool/ files in the store and serves them again without upstream; by-hash only when the hash is right', async () => {
    const url = `http://repo.test:${repoPort}/debian/pool/main/h/hello/hello_1.0_all.deb`;
    const first = await start({ named: [{ host: 'repo.test', port: repoPort }] });
    const before = seen.length;
    const a = await viaProxy(first.port, url);
    await first.close(); // waits for the download to be in the store
    const second = await start({ named: [{ host: 'repo.test', port: repoPort }] });
    const b = await viaProxy(second.port, url);
    assert.equal(b.body, a.body);
    assert.equal(b.headers['x-understudy-cache'], 'hit');
    assert.equal(seen.length - before, 1, 'upstream asked once');
    assert.deepEqual([second.report().hosts[0]!.cachedRequests, second.report().hosts[0]!.cachedBytes], [1, a.body.length]);
    // asked again by the same proxy (apt retrying after a hash mismatch): fetched fresh
    const c = await viaProxy(second.port, url);
    assert.equal(c.headers['x-understudy-cache'], undefined);
    // by-hash: the body does not hash to its name, so it is never served from the cache
    const wrong = `http://repo.test:${repoPort}/debian/dists/by-hash/SHA256/${'0'.repeat(64)}`;
    await viaProxy(second.port, wrong);
    await second.close();
    const third = await start({ named: [{ host: 'repo.test', port: repoPort }] });
    assert.equal((await viaProxy(third.port, wrong)).headers['x-understudy-cache'], undefined);
    const right = `http://repo.test:${repoPort}/debian/dists/by-hash/SHA256/${createHash('sha256').update('index-body').digest('hex')}`;
    await viaProxy(third.port, right);
    await third.close();
    const fourth = await start({ named: [{ host: 'repo.test', port: repoPort }] });
    assert.equal((await viaProxy(fourth.port, right)).headers['x-understudy-cache'], 'hit');
  });

  it('serves a mirrored source from a directory (404 for what is missing or outside it)', async () => {
    const m = join(dir, 'mirror');
    mkdirSync(join(m, 'dists', 'x'), { recursive: true });
    writeFileSync(join(m, 'dists', 'x', 'Release'), 'release');
    writeFileSync(join(dir, 'secret'), 'secret');
    symlinkSync(join(dir, 'secret'), join(m, 'link-out'));
    const p = await start({ sources: [{ host: 'offline.test', port: 80 }], mirror: [m] });
    const before = seen.length;
    assert.equal((await viaProxy(p.port, 'http://offline.test/debian/dists/x/Release')).body, 'release');
    assert.equal((await viaProxy(p.port, 'http://offline.test/debian/dists/x/InRelease')).status, 404);
    assert.equal((await viaProxy(p.port, 'http://offline.test/debian/link-out')).status, 404);
    assert.equal((await viaProxy(p.port, 'http://offline.test/debian/..%2f..%2fsecret')).status, 404);
    assert.equal(seen.length, before, 'nothing went upstream');
    assert.equal(p.report().hosts[0]!.via, `mirror ${m}`);
  });

  it('goes through an upstream proxy when given one (absolute-form request, original Host)', async () => {
    const upstreamSeen: string[] = [];
    const corp = createServer((req, res) => { upstreamSeen.push(`${req.url} host=${req.headers.host}`); res.end('via corp'); });
    const corpPort = await listen(corp);
    try {
      const p = await start({ sources: [{ host: 'archive.test', port: 80 }], upstream: `http://127.0.0.1:${corpPort}` });
      // archive.test resolves to loopback here: refused before it reaches the upstream proxy
      assert.equal((await viaProxy(p.port, 'http://archive.test/debian/x')).status, 403);
      const q = await start({ sources: [{ host: 'archive.example', port: 80 }], upstream: `http://127.0.0.1:${corpPort}` });
      const r = await viaProxy(q.port, 'http://archive.example/debian/x');
      assert.equal(r.body, 'via corp');
      assert.deepEqual(upstreamSeen, ['http://archive.example/debian/x host=archive.example']);
    } finally { corp.close(); }
  });

  it('answers what is no proxy request with 400, and refuses methods other than GET/HEAD', async () => {
    const p = await start({ named: [{ host: 'repo.test', port: repoPort }] });
    const r = await new Promise<number>((res) => request({ host: '127.0.0.1', port: p.port, path: '/x' }, (a) => { a.resume(); res(a.statusCode ?? 0); }).end());
    assert.equal(r, 400);
    assert.equal((await viaProxy(p.port, `http://repo.test:${repoPort}/x`, 'DELETE')).status, 403);
  });

  it('lets the sandbox follow a redirect of an allowed repository (address rules still apply)', async () => {
    const p = await start({ named: [{ host: 'repo.test', port: repoPort }] });
    assert.equal((await viaProxy(p.port, 'http://cdn.test:9/x.deb')).status, 403);
    assert.equal((await viaProxy(p.port, `http://repo.test:${repoPort}/redirect`)).status, 302);
    const after = await viaProxy(p.port, 'http://cdn.test:9/x.deb');
    assert.equal(after.status, 403);
    assert.match(after.body, /cdn\.test resolves to 127\.0\.0\.1: loopback/, 'allowed by the redirect, refused by its address');
  });
});
