// Everything a sandbox can reach, set up before it boots: the host's repositories from map1's apt sources
// (plus --allow-host), the proxy that enforces it, --mirror routes checked against the host's suites, the
// download cache in the store, and the guestfwd entry that carries the guest's connections to the proxy.
//   const net = await startSandboxNetwork({ store, map1, options, log })
//   startSandbox({ ..., network: net })   // the sandbox carries guest connections to net.endpoint
//                                         // (its site's guestForward) and closes it with itself
//   net.proxy.report()                    // the run's network report
import { request as httpRequest } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { parseHostPort } from '../../core/domain/apt-sources.ts';
import type { Manifest } from '../../core/domain/manifest.ts';
import { hostLabel } from '../../core/domain/network-report.ts';
import { AccessPolicy, type Resolver } from './access-policy.ts';
import { DownloadCache } from './download-cache.ts';
import { startForwardProxy, type ForwardProxy } from './forward-proxy.ts';
import { checkMirrors, mirrorRoutes, parseMirrorOption } from './mirror-route.ts';
import { mirrorsOfList, planRepositories, type RepoPlan } from './repo-plan.ts';
import { tunnelSocket } from './upstream-socket.ts';
import { upstreamChoice } from './upstream-proxy.ts';

/** What the operator chose: run options as the CLI, UI and fleet file pass them. */
export interface NetworkChoices {
  allowHost?: string[];
  mirror?: string[];
  upstreamProxy?: string;
}

/** The network choices of a run's options (--mirror was a single value before it could repeat). */
export function networkChoices(o: Record<string, unknown>): NetworkChoices {
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []);
  return {
    allowHost: list(o.allowHost), mirror: list(o.mirror),
    ...(typeof o.upstreamProxy === 'string' ? { upstreamProxy: o.upstreamProxy } : {}),
  };
}

/** Usage errors for the choices, before anything runs (the CLI calls it up front; the sandbox again). */
export function checkNetworkChoices(c: NetworkChoices): void {
  for (const h of c.allowHost ?? []) {
    try { parseHostPort(h); } catch (e) { throw new UnderstudyError('usage', `--allow-host ${(e as Error).message}`); }
  }
  for (const m of c.mirror ?? []) parseMirrorOption(m);
  upstreamChoice(c.upstreamProxy);
}

export interface SandboxNetwork {
  proxy: ForwardProxy;
  plan: RepoPlan;
  /** Where guest connections are carried to (the proxy on this machine's loopback). */
  endpoint: { host: string; port: number };
  close(): Promise<void>;
}

export async function startSandboxNetwork(o: {
  store: string; map1: Manifest; choices: NetworkChoices; log?(line: string): void; resolve?: Resolver;
}): Promise<SandboxNetwork> {
  checkNetworkChoices(o.choices);
  const plan = await planRepositories(o.store, o.map1);
  const named = (o.choices.allowHost ?? []).map((h) => parseHostPort(h));
  const policy = new AccessPolicy({ sources: plan.endpoints, named, ...(o.resolve ? { resolve: o.resolve } : {}) });
  const mirrorOptions = (o.choices.mirror ?? []).map(parseMirrorOption);
  const routes = mirrorRoutes(mirrorOptions, plan.sources);
  const proxy = await startForwardProxy({
    policy, upstream: upstreamChoice(o.choices.upstreamProxy), mirrors: routes, cache: new DownloadCache(o.store),
    log: (l) => o.log?.(`proxy: ${l}`),
  });
  try {
    for (const list of plan.remoteLists) policy.addSources(mirrorsOfList(plan, list, await fetchThrough(proxy.port, list.url)));
    await checkMirrors(routes, plan.sources, (url) => proxy.probe(url));
    proxy.network.noteUnreachable(plan.unreachable);
    const allowed = policy.allowed().map((e) => hostLabel(e.host, e.port) + (e.port === 443 ? ' (https)' : ''));
    o.log?.(`the sandbox may reach: ${allowed.length ? allowed.join(', ') : 'nothing (the host has no http or https source)'}` +
      `${routes.length ? `; mirrored: ${[...new Set(routes.map((r) => `${r.from} -> ${r.label.replace(/^mirror /, '')}`))].join(', ')}` : ''}`);
    for (const u of plan.unreachable) o.log?.(`not reachable in the sandbox: ${u.uri} (${u.file}): ${u.reason}`);
    for (const l of plan.local) o.log?.(`on the sandbox's own disk (from the map): ${l}`);
  } catch (e) {
    await proxy.close();
    throw e;
  }
  return { proxy, plan, endpoint: { host: '127.0.0.1', port: proxy.port }, close: () => proxy.close() };
}

/** GETs a mirror list through the proxy itself (so its policy and upstream route apply); undefined on failure. */
async function fetchThrough(proxyPort: number, url: string): Promise<string | undefined> {
  const u = new URL(url);
  const read = (res: NodeJS.ReadableStream & { statusCode?: number }) => new Promise<string | undefined>((resolve) => {
    if ((res.statusCode ?? 0) !== 200) { res.resume(); resolve(undefined); return; }
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => { text += c; if (text.length > 1 << 20) resolve(undefined); });
    res.on('end', () => resolve(text));
    res.on('error', () => resolve(undefined));
  });
  try {
    if (u.protocol === 'http:') {
      return await new Promise((resolve) => {
        const r = httpRequest({ host: '127.0.0.1', port: proxyPort, path: u.href, headers: { host: u.host }, timeout: 30_000 },
          (res) => { void read(res).then(resolve); });
        r.on('timeout', () => r.destroy());
        r.on('error', () => resolve(undefined));
        r.end();
      });
    }
    const port = Number(u.port || 443);
    const { socket } = await tunnelSocket({ host: u.hostname, port, proxy: { host: '127.0.0.1', port: proxyPort, label: 'understudy' }, timeoutMs: 30_000 });
    const tls = tlsConnect({ socket, servername: u.hostname });
    return await new Promise((resolve) => {
      const r = httpRequest({ createConnection: () => tls, path: u.pathname + u.search, headers: { host: u.host }, timeout: 30_000 },
        (res) => { void read(res).then(resolve); });
      r.on('timeout', () => r.destroy());
      r.on('error', () => resolve(undefined));
      r.end();
    });
  } catch { return undefined; }
}
