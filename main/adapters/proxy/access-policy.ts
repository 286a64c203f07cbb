// Who the sandbox may reach through the proxy, and at which address.
// - Allowed: host:port pairs of the host's apt sources, what the operator named (--allow-host HOST[:PORT];
//   without a port: 80 and 443), and where an allowed repository redirected a request (apt follows
//   redirects; vendors' repositories send .deb requests to CDNs).
// - Resolved here, once, and connected to the checked address (no second lookup a DNS answer could change).
// - Never this machine's loopback, link-local, private or own addresses, unless the operator named that
//   host:port: a name in the host's sources that resolves there is refused, and the refusal says how to allow it.
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import { hostLabel } from '../../core/domain/network-report.ts';
import { canonicalIp, isIpLiteral, restrictedAddressReason } from '../../core/domain/net-address.ts';

export interface Endpoint { host: string; port: number }
export type Resolver = (host: string) => Promise<string[]>;

export const systemResolver: Resolver = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** This machine's own interface addresses (canonical text). */
export function ownAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) {
    const c = canonicalIp(a.address);
    if (c) out.add(c);
  }
  return out;
}

export type Permit = { ok: true; named: boolean; via?: string } | { ok: false; reason: string };
export type Destination = { ok: true; address: string } | { ok: false; refusal: string } | { ok: false; failure: string };

const key = (host: string, port: number) => `${host}|${port}`;

export class AccessPolicy {
  private readonly sources = new Set<string>();
  private readonly named = new Set<string>();
  private readonly redirects = new Map<string, string>();
  private readonly resolve: Resolver;
  private readonly own: Set<string>;

  constructor(o: { sources: Endpoint[]; named: Array<{ host: string; port?: number }>; resolve?: Resolver; own?: Set<string> }) {
    for (const e of o.sources) this.sources.add(key(e.host, e.port));
    for (const n of o.named) for (const p of n.port ? [n.port] : [80, 443]) this.named.add(key(n.host, p));
    this.resolve = o.resolve ?? systemResolver;
    this.own = o.own ?? ownAddresses();
  }

  /** More repositories of the host (the mirrors a fetched mirror list names). */
  addSources(endpoints: Endpoint[]): void {
    for (const e of endpoints) this.sources.add(key(e.host, e.port));
  }

  /** Every allowed host:port (for logs and the run's report). */
  allowed(): Endpoint[] {
    return [...new Set([...this.sources, ...this.named, ...this.redirects.keys()])].map((k) => {
      const [host, port] = k.split('|');
      return { host: host!, port: Number(port) };
    });
  }

  permit(host: string, port: number): Permit {
    const k = key(host, port);
    if (this.named.has(k)) return { ok: true, named: true };
    if (this.sources.has(k)) return { ok: true, named: false };
    const from = this.redirects.get(k);
    if (from) return { ok: true, named: false, via: `redirect from ${from}` };
    return { ok: false, reason: `${hostLabel(host, port)} is not a repository of the host's apt sources` +
      ` (allow it with --allow-host ${host.includes(':') ? `[${host}]` : host}:${port})` };
  }

  /** An allowed repository answered with a redirect to `to`: the sandbox may follow it (address rules still apply). */
  learnRedirect(from: Endpoint, to: Endpoint): void {
    const k = key(to.host, to.port);
    if (!this.sources.has(k) && !this.named.has(k) && !this.redirects.has(k)) this.redirects.set(k, hostLabel(from.host, from.port));
  }

  /** Why `address` is off limits for `host:port` (not named), or undefined. */
  private restricted(host: string, port: number, address: string): string | undefined {
    const why = restrictedAddressReason(address) ?? (this.own.has(canonicalIp(address) ?? address) ? "this machine's own address" : undefined);
    if (!why) return undefined;
    const shown = isIpLiteral(host) ? address : `${host} resolves to ${address}`;
    return `${shown}: ${why}; the sandbox never reaches this machine or private networks unless the operator names the ` +
      `destination (--allow-host ${host.includes(':') ? `[${host}]` : host}:${port})`;
  }

  /** The address to connect to, a refusal (restricted address) or a failure (name not resolved). */
  async destination(host: string, port: number, named: boolean): Promise<Destination> {
    let addresses: string[];
    if (isIpLiteral(host)) addresses = [host];
    else {
      try { addresses = await this.resolve(host); } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        return { ok: false, failure: `name not resolved (${code ?? (e as Error).message})` };
      }
      if (addresses.length === 0) return { ok: false, failure: 'name not resolved (no address)' };
    }
    if (!named) {
      // one restricted address is enough to refuse: a name that also points inside is not a public repository
      for (const a of addresses) {
        const why = this.restricted(host, port, a);
        if (why) return { ok: false, refusal: why };
      }
    }
    return { ok: true, address: addresses[0]! };
  }

  /** Through an upstream proxy the proxy resolves; still refuse what resolves (here) to a restricted address. */
  async checkBeforeProxy(host: string, port: number, named: boolean): Promise<string | undefined> {
    if (named) return undefined;
    let addresses: string[] = [];
    if (isIpLiteral(host)) addresses = [host];
    else { try { addresses = await this.resolve(host); } catch { return undefined; } } // no DNS here: the proxy decides
    for (const a of addresses) { const why = this.restricted(host, port, a); if (why) return why; }
    return undefined;
  }
}
