// What the sandbox reached through understudy's proxy during a run: per repository host the requests and
// bytes (and how many came from the download cache), every refused destination, every upstream failure,
// and the host's sources the sandbox could not reach at all (cdrom:, a file: path outside the map ...).
// Plain JSON: it is part of the run's persisted context and result.

export interface NetworkHostStats {
  host: string;
  port: number;
  /** http requests answered plus https tunnels opened. */
  requests: number;
  /** Bytes sent to the sandbox (bodies; for tunnels every byte received from upstream). */
  bytes: number;
  /** Of those, answered from the store's download cache (no upstream transfer). */
  cachedRequests: number;
  cachedBytes: number;
  /** https CONNECT tunnels among `requests`. */
  tunnels: number;
  /** How it was reached when not directly: 'mirror DIR', 'mirror URL', 'proxy URL', 'redirect from HOST'. */
  via?: string;
}

export interface NetworkRefusal {
  host: string;
  port: number;
  /** The first path refused for this host (http), absent for a refused tunnel. */
  path?: string;
  count: number;
  reason: string;
}

export interface NetworkFailure {
  host: string;
  port: number;
  path?: string;
  /** e.g. 'name not resolved (ENOTFOUND)', 'connection refused', 'timed out after 30 s'. */
  cause: string;
  /** 'connect': the repository could not be reached at all (DNS, refused, unreachable, timeout, TLS
   *  handshake) and the upgrading stage fails; 'transfer': an answer broke off (apt retries). */
  phase: 'connect' | 'transfer';
  count: number;
  /** ISO time of the first occurrence (stages use it to tell their own failures from earlier ones). */
  at: string;
}

export interface UnreachableSource { uri: string; file: string; reason: string }

export interface NetworkReport {
  hosts: NetworkHostStats[];
  refusals: NetworkRefusal[];
  failures: NetworkFailure[];
  /** Sources of the host the sandbox cannot use (reported once, when the sandbox starts). */
  unreachable: UnreachableSource[];
}

export const emptyNetworkReport = (): NetworkReport => ({ hosts: [], refusals: [], failures: [], unreachable: [] });

export const hostLabel = (host: string, port: number): string =>
  `${host.includes(':') ? `[${host}]` : host}${port === 80 || port === 443 ? '' : `:${port}`}`;

/** One line per upstream failure, for error messages: 'deb.example (port 80): connection refused'. */
export function describeFailures(fs: NetworkFailure[]): string {
  return fs.map((f) => `${hostLabel(f.host, f.port)}${f.port === 80 || f.port === 443 ? ` (port ${f.port})` : ''}: ${f.cause}` +
    `${f.path ? ` (first: ${f.path})` : ''}${f.count > 1 ? ` [${f.count}x]` : ''}`).join('; ');
}

/** Total bytes the sandbox received, and how many of them had to come from upstream. */
export function networkTotals(r: NetworkReport): { requests: number; bytes: number; upstreamBytes: number; cachedBytes: number } {
  let requests = 0, bytes = 0, cachedBytes = 0;
  for (const h of r.hosts) { requests += h.requests; bytes += h.bytes; cachedBytes += h.cachedBytes; }
  return { requests, bytes, cachedBytes, upstreamBytes: bytes - cachedBytes };
}
