// Whether the orchestrator itself must go through a proxy to reach a repository, as curl and apt decide it:
// --upstream-proxy URL sends all allowed traffic through that proxy; otherwise http_proxy (http) and
// https_proxy (https tunnels) of understudy's own environment, except for no_proxy's hosts.
// Only http:// proxies (plain requests in absolute form, CONNECT for tunnels).
import { UnderstudyError } from '../../core/domain/errors.ts';
import { normalizeHost } from '../../core/domain/apt-sources.ts';
import { parseIpv4 } from '../../core/domain/net-address.ts';

export interface UpstreamProxy {
  host: string;
  port: number;
  /** Proxy-Authorization header value, from the URL's user:password. */
  authorization?: string;
  /** For reports, without credentials: 'http://proxy.example:3128'. */
  label: string;
}

export function parseProxyUrl(text: string, what: string): UpstreamProxy {
  let u: URL;
  try { u = new URL(text.includes('://') ? text : `http://${text}`); } catch {
    throw new UnderstudyError('usage', `${what} ${text}: not a URL`);
  }
  if (u.protocol !== 'http:') {
    throw new UnderstudyError('usage', `${what} ${text}: only http:// proxies are supported (understudy sends plain requests and CONNECT to it)`);
  }
  const host = normalizeHost(u.hostname);
  if (!host) throw new UnderstudyError('usage', `${what} ${text}: no host`);
  const port = u.port ? Number(u.port) : 80;
  const user = decodeURIComponent(u.username), pass = decodeURIComponent(u.password);
  return {
    host, port, label: `http://${u.host}`,
    ...(user || pass ? { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` } : {}),
  };
}

function cidrMatch(ip: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split('/');
  const a = parseIpv4(ip), b = parseIpv4(net ?? ''), bits = Number(bitsText);
  if (!a || !b || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const n = (x: number[]) => ((x[0]! << 24) | (x[1]! << 16) | (x[2]! << 8) | x[3]!) >>> 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (n(a) & mask) === (n(b) & mask);
}

/** curl's no_proxy rules: '*', host or domain suffix (a leading '.' optional), optional :port, IPv4 CIDR. */
export function noProxyMatches(noProxy: string, host: string, port: number): boolean {
  for (const raw of noProxy.split(/[\s,]+/).filter(Boolean)) {
    if (raw === '*') return true;
    let entry = raw.toLowerCase(), entryPort: number | undefined;
    const m = /^(.*):(\d+)$/.exec(entry);
    if (m && !entry.includes('::') && !entry.startsWith('[')) { entry = m[1]!; entryPort = Number(m[2]); }
    entry = entry.replace(/^\*?\./, '').replace(/^\[|\]$/g, '');
    if (entryPort !== undefined && entryPort !== port) continue;
    if (entry.includes('/')) { if (cidrMatch(host, entry)) return true; continue; }
    if (host === entry || host.endsWith(`.${entry}`)) return true;
  }
  return false;
}

export interface UpstreamChoice { explicit?: UpstreamProxy; http?: UpstreamProxy; https?: UpstreamProxy; noProxy: string }

/** Reads --upstream-proxy and the environment once (usage error for a proxy URL understudy cannot use). */
export function upstreamChoice(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): UpstreamChoice {
  if (explicit) return { explicit: parseProxyUrl(explicit, '--upstream-proxy'), noProxy: '' };
  const pick = (lower: string, upper: string) => {
    const v = env[lower] ?? env[upper];
    return v ? parseProxyUrl(v, `${env[lower] ? lower : upper} (understudy's environment)`) : undefined;
  };
  const http = env.http_proxy ? pick('http_proxy', 'http_proxy') : undefined; // not HTTP_PROXY: the httpoxy rule curl follows
  const https = pick('https_proxy', 'HTTPS_PROXY');
  return { ...(http ? { http } : {}), ...(https ? { https } : {}), noProxy: env.no_proxy ?? env.NO_PROXY ?? '' };
}

export function upstreamFor(c: UpstreamChoice, scheme: 'http' | 'https', host: string, port: number): UpstreamProxy | undefined {
  if (c.explicit) return c.explicit;
  const p = scheme === 'http' ? c.http : c.https;
  return p && !noProxyMatches(c.noProxy, host, port) ? p : undefined;
}
