// Accumulates a sandbox's NetworkReport as the proxy answers: one entry per host:port, per refused
// destination (with its first path) and per distinct upstream failure.
import type { NetworkFailure, NetworkHostStats, NetworkRefusal, NetworkReport, UnreachableSource } from '../../core/domain/network-report.ts';

export class NetworkLog {
  private hosts = new Map<string, NetworkHostStats>();
  private refusals = new Map<string, NetworkRefusal>();
  private failures = new Map<string, NetworkFailure>();
  private unreachable: UnreachableSource[] = [];

  constructor(private readonly onLine?: (line: string) => void) {}

  private hostEntry(host: string, port: number, via?: string): NetworkHostStats {
    const key = `${host}|${port}`;
    let h = this.hosts.get(key);
    if (!h) {
      h = { host, port, requests: 0, bytes: 0, cachedRequests: 0, cachedBytes: 0, tunnels: 0, ...(via ? { via } : {}) };
      this.hosts.set(key, h);
    }
    return h;
  }

  /** A request (or tunnel) answered; returns a function that adds the bytes as they flow. */
  served(host: string, port: number, o: { cached?: boolean; tunnel?: boolean; via?: string } = {}): (bytes: number) => void {
    const h = this.hostEntry(host, port, o.via);
    h.requests++;
    if (o.cached) h.cachedRequests++;
    if (o.tunnel) h.tunnels++;
    return (n) => { h.bytes += n; if (o.cached) h.cachedBytes += n; };
  }

  refused(host: string, port: number, path: string | undefined, reason: string): void {
    const key = `${host}|${port}`;
    const r = this.refusals.get(key);
    if (r) { r.count++; return; }
    this.refusals.set(key, { host, port, ...(path ? { path } : {}), count: 1, reason });
    this.onLine?.(`refused ${host}:${port}${path ?? ''}: ${reason}`);
  }

  failed(host: string, port: number, path: string | undefined, cause: string, phase: 'connect' | 'transfer' = 'connect'): void {
    const key = `${host}|${port}|${cause}`;
    const f = this.failures.get(key);
    if (f) { f.count++; return; }
    this.failures.set(key, { host, port, ...(path ? { path } : {}), cause, phase, count: 1, at: new Date().toISOString() });
    this.onLine?.(`upstream failure ${host}:${port}${path ?? ''}: ${cause}`);
  }

  noteUnreachable(u: UnreachableSource[]): void { this.unreachable.push(...u); }

  report(): NetworkReport {
    const sorted = <T extends { host: string; port: number }>(xs: Iterable<T>) =>
      [...xs].map((x) => ({ ...x })).sort((a, b) => a.host.localeCompare(b.host) || a.port - b.port);
    return {
      hosts: sorted(this.hosts.values()), refusals: sorted(this.refusals.values()),
      failures: sorted(this.failures.values()), unreachable: this.unreachable.map((u) => ({ ...u })),
    };
  }
}
