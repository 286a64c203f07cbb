// Pure text of a run's network report for `show`, the rehearsal report and the review: what the sandbox
// reached, what was refused, what could not be reached, which host sources it could not use.
import { formatBytes } from '../../core/domain/progress-format.ts';
import { hostLabel, networkTotals, type NetworkReport } from '../../core/domain/network-report.ts';

export function networkLines(n: NetworkReport | undefined, pad = ''): string[] {
  if (!n) return [];
  const lines: string[] = [];
  const t = networkTotals(n);
  if (n.hosts.length === 0) lines.push(`${pad}network  the sandbox reached no repository`);
  for (const h of n.hosts) {
    const what = h.tunnels === h.requests ? `${h.tunnels} https tunnel${h.tunnels === 1 ? '' : 's'}` : `${h.requests} request${h.requests === 1 ? '' : 's'}`;
    lines.push(`${pad}network  ${hostLabel(h.host, h.port)}  ${what}  ${formatBytes(h.bytes)}` +
      `${h.cachedBytes ? ` (${formatBytes(h.cachedBytes)} from the download cache)` : ''}${h.via ? `  via ${h.via}` : ''}`);
  }
  if (n.hosts.length > 1 || t.cachedBytes) lines.push(`${pad}network  total ${formatBytes(t.bytes)}, ${formatBytes(t.upstreamBytes)} from upstream`);
  for (const r of n.refusals) lines.push(`${pad}refused  ${hostLabel(r.host, r.port)}${r.path ?? ''}${r.count > 1 ? ` (${r.count}x)` : ''}: ${r.reason}`);
  for (const f of n.failures) lines.push(`${pad}unreachable ${hostLabel(f.host, f.port)}${f.path ? ` ${f.path}` : ''}: ${f.cause}${f.count > 1 ? ` (${f.count}x)` : ''}`);
  for (const u of n.unreachable) lines.push(`${pad}source   ${u.uri} (${u.file}) not usable in the sandbox: ${u.reason}`);
  return lines;
}
