// One-line readings of a sandbox's network report, for the run's log and the upgrading stage's error.
import { describeFailures, hostLabel, networkTotals, type NetworkReport } from '../../core/domain/network-report.ts';
import { formatBytes } from '../../core/domain/progress-format.ts';

export function networkSummary(r: NetworkReport): string {
  const t = networkTotals(r);
  const hosts = r.hosts.map((h) => `${hostLabel(h.host, h.port)} ${h.requests} req ${formatBytes(h.bytes)}` +
    `${h.cachedBytes ? ` (${formatBytes(h.cachedBytes)} from cache)` : ''}${h.via ? ` via ${h.via}` : ''}`);
  const parts = [hosts.length ? `reached ${hosts.join(', ')}` : 'reached no repository',
    `${formatBytes(t.upstreamBytes)} from upstream`];
  if (r.refusals.length) parts.push(`refused ${r.refusals.map((x) => `${hostLabel(x.host, x.port)}${x.path ?? ''} (${x.count}x)`).join(', ')}`);
  if (r.failures.length) parts.push(`upstream failures: ${describeFailures(r.failures)}`);
  return parts.join('; ');
}

/** The repositories that could not be reached at all since `sinceIso`, described; '' when none. */
export function failuresSince(r: NetworkReport, sinceIso: string): string {
  return describeFailures(r.failures.filter((f) => f.phase === 'connect' && f.at >= sinceIso));
}
