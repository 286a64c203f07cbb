// understudy's repository proxy: the sandbox's only way out. An HTTP forward proxy on 127.0.0.1 (random
// port), one per sandbox; the guest reaches it through QEMU's guestfwd (guest-forward.ts).
//   - plain http: absolute-form GET/HEAD requests, forwarded with their own Host (CDNs route by it);
//   - https: CONNECT host:port, tunnelled as bytes (no TLS interception: apt checks certificates and
//     signatures itself);
//   - only to what the AccessPolicy allows, at addresses it checked; everything else 403 and recorded;
//   - --mirror routes answered from a directory or another URL, pool/ and by-hash files from the store's
//     download cache, the orchestrator's own upstream proxy honoured.
// Every answer, refusal and upstream failure goes into the NetworkLog (the run's network report).
import { createServer, request as httpRequest, Agent, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createReadStream } from 'node:fs';
import type { Duplex } from 'node:stream';
import { endpointOf, normalizeHost } from '../../core/domain/apt-sources.ts';
import type { NetworkReport } from '../../core/domain/network-report.ts';
import type { AccessPolicy } from './access-policy.ts';
import { cacheableKind, type DownloadCache } from './download-cache.ts';
import { fileInDir, routeFor, type MirrorRoute } from './mirror-route.ts';
import { NetworkLog } from './network-log.ts';
import { failureCause, timeoutError } from './upstream-errors.ts';
import { upstreamFor, type UpstreamChoice } from './upstream-proxy.ts';
import { tunnelSocket } from './upstream-socket.ts';

export interface ForwardProxyOptions {
  policy: AccessPolicy;
  upstream: UpstreamChoice;
  mirrors?: MirrorRoute[];
  cache?: DownloadCache;
  log?(line: string): void;
  connectTimeoutMs?: number;
  /** An upstream answer that sends nothing for this long is dropped (apt retries or fails). */
  idleTimeoutMs?: number;
}

export interface ForwardProxy {
  readonly port: number;
  readonly network: NetworkLog;
  report(): NetworkReport;
  /** HEAD (then GET) of an http URL through the same upstream route; true on 2xx. For the mirror check. */
  probe(url: string): Promise<boolean>;
  close(): Promise<void>;
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te',
  'trailer', 'transfer-encoding', 'upgrade'];

function endToEnd(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const named = String(headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim());
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.includes(k) && !named.includes(k)) out[k] = v;
  return out;
}

const hostHeader = (host: string, port: number) => `${host.includes(':') ? `[${host}]` : host}${port === 80 ? '' : `:${port}`}`;

function plain(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) { res.destroy(); return; }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-understudy-proxy': 'refused', connection: 'close' });
  res.end(`understudy: ${text}\n`);
}

export async function startForwardProxy(o: ForwardProxyOptions): Promise<ForwardProxy> {
  const network = new NetworkLog(o.log);
  const connectTimeoutMs = o.connectTimeoutMs ?? 30_000;
  const idleTimeoutMs = o.idleTimeoutMs ?? 120_000;
  const agent = new Agent({ keepAlive: true, maxSockets: 16, timeout: idleTimeoutMs });
  const tunnels = new Set<Duplex>();

  /** Forwards one request to `url` (direct or through the upstream proxy) and streams the answer back. */
  async function fetchUpstream(req: IncomingMessage, res: ServerResponse, a: {
    url: URL; named: boolean; statsHost: string; statsPort: number; via?: string; path: string;
  }): Promise<void> {
    const ep = endpointOf(a.url.href)!;
    const proxy = upstreamFor(o.upstream, 'http', ep.host, ep.port);
    let address: string | undefined;
    if (proxy) {
      const why = await o.policy.checkBeforeProxy(ep.host, ep.port, a.named);
      if (why) { network.refused(a.statsHost, a.statsPort, a.path, why); return plain(res, 403, `refused: ${why}`); }
    } else {
      const d = await o.policy.destination(ep.host, ep.port, a.named);
      if (!d.ok && 'refusal' in d) { network.refused(a.statsHost, a.statsPort, a.path, d.refusal); return plain(res, 403, `refused: ${d.refusal}`); }
      if (!d.ok) { network.failed(a.statsHost, a.statsPort, a.path, d.failure); return plain(res, 502, `${hostHeader(ep.host, ep.port)}: ${d.failure}`); }
      address = d.address;
    }
    const cacheable = o.cache && req.method === 'GET' && !req.headers.range ? cacheableKind(a.url.href) : undefined;
    const headers: Record<string, string | string[]> = { ...endToEnd(req.headers), host: hostHeader(ep.host, ep.port) };
    if (proxy?.authorization) headers['proxy-authorization'] = proxy.authorization;
    const send = (retry: boolean) => {
      const up = httpRequest({
        host: proxy ? proxy.host : address, port: proxy ? proxy.port : ep.port, method: req.method,
        path: proxy ? a.url.href : a.url.pathname + a.url.search, headers, agent, setHost: false,
      });
      let answered = false;
      const connectTimer = setTimeout(() => up.destroy(timeoutError()), connectTimeoutMs);
      up.setTimeout(idleTimeoutMs, () => up.destroy(timeoutError()));
      const onClientGone = () => { if (!res.writableFinished) up.destroy(); };
      res.on('close', onClientGone);
      up.on('error', (e) => {
        clearTimeout(connectTimer);
        // a kept-alive connection the repository had closed meanwhile: not a failure, ask again on a new one
        if (!answered && retry && up.reusedSocket && (e as NodeJS.ErrnoException).code === 'ECONNRESET') {
          res.off('close', onClientGone);
          send(false);
          return;
        }
        const cause = failureCause(e, answered ? idleTimeoutMs : connectTimeoutMs);
        network.failed(a.statsHost, a.statsPort, a.path, proxy ? `${cause} (through ${proxy.label})` : cause, answered ? 'transfer' : 'connect');
        if (!answered) plain(res, 502, `${hostHeader(ep.host, ep.port)}: ${cause}`);
        else res.destroy();
      });
      up.on('response', (answer) => {
        clearTimeout(connectTimer);
        answered = true;
        relayAnswer(answer, res, a, ep, cacheable);
      });
      up.end();
    };
    send(true);
  }

  /** Streams an upstream answer to the sandbox, learning redirects and keeping cacheable bodies. */
  function relayAnswer(answer: IncomingMessage, res: ServerResponse, a: { url: URL; statsHost: string; statsPort: number; via?: string },
    ep: { host: string; port: number }, cacheable: unknown): void {
    const status = answer.statusCode ?? 502;
    if (status >= 300 && status < 400 && answer.headers.location) {
      const to = endpointOf(new URL(answer.headers.location, a.url).href);
      if (to) o.policy.learnRedirect({ host: ep.host, port: ep.port }, to);
    }
    const count = network.served(a.statsHost, a.statsPort, a.via ? { via: a.via } : {});
    res.writeHead(status, answer.statusMessage, endToEnd(answer.headers));
    const keep = cacheable && status === 200 && !answer.headers['content-encoding'] ? o.cache!.put(a.url.href) : undefined;
    let chain = Promise.resolve();
    answer.on('data', (c: Buffer) => {
      count(c.length);
      if (keep) chain = chain.then(() => keep.write(c));
    });
    answer.on('close', () => {
      if (!keep) return;
      // complete: kept (when its length is right); broken off: dropped
      const expected = answer.headers['content-length'] ? Number(answer.headers['content-length']) : undefined;
      const done = answer.complete ? chain.then(() => keep.finish(expected)) : chain.then(() => keep.abort());
      done.catch((e: Error) => { o.log?.(`download cache: ${a.url.href}: ${e.message}`); return keep.abort(); }).catch(() => undefined);
    });
    answer.pipe(res);
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try { url = new URL(req.url ?? ''); } catch {
      return plain(res, 400, "this is understudy's repository proxy: configure it as apt's http proxy (absolute http:// URLs only)");
    }
    const ep = endpointOf(url.href);
    if (url.protocol !== 'http:' || !ep) return plain(res, 400, `only http:// URLs are forwarded (https goes through CONNECT): ${req.url}`);
    const path = url.pathname + url.search;
    const permit = o.policy.permit(ep.host, ep.port);
    if (!permit.ok) { network.refused(ep.host, ep.port, path, permit.reason); return plain(res, 403, `refused: ${permit.reason}`); }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const why = `${req.method} requests are not forwarded (a repository is read with GET and HEAD)`;
      network.refused(ep.host, ep.port, path, why);
      return plain(res, 403, `refused: ${why}`);
    }
    const routed = routeFor(o.mirrors ?? [], url.href);
    if (routed?.route.to.kind === 'dir') return serveFromDir(req, res, routed.route, routed.rel, ep.host, ep.port);
    if (routed?.route.to.kind === 'url') {
      const target = new URL(routed.route.to.url + routed.rel + url.search);
      return fetchUpstream(req, res, { url: target, named: true, statsHost: ep.host, statsPort: ep.port, via: routed.route.label, path });
    }
    if (o.cache && req.method === 'GET' && cacheableKind(url.href)) {
      const hit = await o.cache.get(url.href);
      if (hit) {
        const count = network.served(ep.host, ep.port, { cached: true, ...(permit.via ? { via: permit.via } : {}) });
        res.writeHead(200, { 'content-length': hit.entry.size, 'content-type': 'application/octet-stream', 'x-understudy-cache': 'hit' });
        const body = hit.open();
        body.on('data', (c: Buffer | string) => count(c.length));
        body.on('error', () => res.destroy());
        body.pipe(res);
        return;
      }
    }
    return fetchUpstream(req, res, { url, named: permit.named, statsHost: ep.host, statsPort: ep.port, path, ...(permit.via ? { via: permit.via } : {}) });
  }

  async function serveFromDir(req: IncomingMessage, res: ServerResponse, route: MirrorRoute, rel: string, host: string, port: number) {
    if (route.to.kind !== 'dir') return;
    const f = await fileInDir(route.to.dir, rel);
    const count = network.served(host, port, { via: route.label });
    if (!f) { res.writeHead(404, { 'content-type': 'text/plain' }).end(`understudy: not in ${route.label}: ${rel}\n`); return; }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': f.size, 'last-modified': f.mtime.toUTCString() });
    if (req.method === 'HEAD') { res.end(); return; }
    const body = createReadStream(f.path);
    body.on('data', (c: Buffer | string) => count(c.length));
    body.on('error', () => res.destroy());
    body.pipe(res);
  }

  async function onConnect(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    tunnels.add(client);
    client.on('close', () => tunnels.delete(client));
    client.on('error', () => client.destroy());
    const refuse = (status: string, text: string) => {
      client.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nunderstudy: ${text}\n`);
    };
    const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(req.url ?? '');
    if (!m) return refuse('400 Bad Request', `CONNECT needs host:port, got '${req.url}'`);
    const host = normalizeHost(m[1] ?? m[2]!), port = Number(m[3]);
    const permit = o.policy.permit(host, port);
    if (!permit.ok) { network.refused(host, port, undefined, permit.reason); return refuse('403 Forbidden', `refused: ${permit.reason}`); }
    const proxy = upstreamFor(o.upstream, 'https', host, port);
    let address: string | undefined;
    if (proxy) {
      const why = await o.policy.checkBeforeProxy(host, port, permit.named);
      if (why) { network.refused(host, port, undefined, why); return refuse('403 Forbidden', `refused: ${why}`); }
    } else {
      const d = await o.policy.destination(host, port, permit.named);
      if (!d.ok && 'refusal' in d) { network.refused(host, port, undefined, d.refusal); return refuse('403 Forbidden', `refused: ${d.refusal}`); }
      if (!d.ok) { network.failed(host, port, undefined, d.failure); return refuse('502 Bad Gateway', `${host}:${port}: ${d.failure}`); }
      address = d.address;
    }
    let upstream;
    try {
      upstream = await tunnelSocket({ host, port, address, proxy, timeoutMs: connectTimeoutMs });
    } catch (e) {
      const cause = failureCause(e, connectTimeoutMs);
      network.failed(host, port, undefined, proxy ? `${cause} (through ${proxy.label})` : cause);
      return refuse('502 Bad Gateway', `${host}:${port}: ${cause}`);
    }
    const up = upstream.socket;
    if (client.destroyed) { up.destroy(); return; }
    tunnels.add(up);
    up.on('close', () => tunnels.delete(up));
    const count = network.served(host, port, { tunnel: true, ...(permit.via ? { via: permit.via } : {}) });
    let sentUp = head.length, gotDown = 0, firstDown: number | undefined;
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (upstream.rest.length) { client.write(upstream.rest); gotDown += upstream.rest.length; count(upstream.rest.length); }
    if (head.length) up.write(head);
    up.setTimeout(idleTimeoutMs * 5, () => up.destroy()); // a tunnel idle this long is dead either way
    client.on('data', (c: Buffer) => { sentUp += c.length; });
    up.on('data', (c: Buffer) => {
      if (firstDown === undefined) firstDown = c[0];
      gotDown += c.length;
      count(c.length);
    });
    // plaintext signs of a TLS failure upstream: an alert record first, or nothing at all for a client hello
    up.on('close', () => {
      if (firstDown === 0x15) network.failed(host, port, undefined, 'TLS handshake failed (the repository answered with a TLS alert)');
      else if (gotDown === 0 && sentUp > 0) network.failed(host, port, undefined, 'closed the connection without answering (TLS handshake failed upstream)');
    });
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
    client.pipe(up);
    up.pipe(client);
  }

  const server = createServer((req, res) => {
    onRequest(req, res).catch((e: Error) => plain(res, 500, `proxy error: ${e.message}`));
  });
  server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    onConnect(req, socket, head).catch(() => socket.destroy());
  });
  server.on('clientError', (_e, socket) => { if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'); else socket.destroy(); });
  server.keepAliveTimeout = 30_000;
  // a guest that sends its requests and half-closes (EOF passed on by the relay) still gets its answers
  (server as unknown as { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  async function probe(url: string): Promise<boolean> {
    const u = new URL(url);
    const ep = endpointOf(u.href);
    if (!ep) return false;
    const proxy = upstreamFor(o.upstream, 'http', ep.host, ep.port);
    let address: string | undefined;
    if (!proxy) {
      const d = await o.policy.destination(ep.host, ep.port, true);
      if (!d.ok) return false;
      address = d.address;
    }
    const ask = (method: string) => new Promise<number>((resolve) => {
      const r = httpRequest({
        host: proxy ? proxy.host : address, port: proxy ? proxy.port : ep.port, method, setHost: false,
        path: proxy ? u.href : u.pathname + u.search, agent, timeout: connectTimeoutMs,
        headers: { host: hostHeader(ep.host, ep.port), ...(proxy?.authorization ? { 'proxy-authorization': proxy.authorization } : {}) },
      }, (answer) => { answer.resume(); resolve(answer.statusCode ?? 0); r.destroy(); });
      r.on('timeout', () => r.destroy(timeoutError()));
      r.on('error', () => resolve(0));
      r.end();
    });
    const head = await ask('HEAD');
    if (head >= 200 && head < 300) return true;
    if (head !== 405) return false;
    const get = await ask('GET');
    return get >= 200 && get < 300;
  }

  return {
    port, network, probe,
    report: () => network.report(),
    close: async () => {
      await new Promise<void>((resolve) => {
        for (const t of tunnels) t.destroy();
        agent.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      // downloads being kept go into the store before the sandbox is gone (the next run finds them)
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([o.cache?.settled(), new Promise((r) => { timer = setTimeout(r, 30_000); })]);
      clearTimeout(timer);
    },
  };
}
