// What the sandbox reached through understudy's repository proxy: per host the requests and bytes (and how
// much came from the download cache), then what was refused, what could not be reached, and the host's
// sources the sandbox could not use. An operator sees here when an upgrade tried to go somewhere unexpected.
import type { NetworkReport } from '../../../main/contract/index.ts';
import { formatBytes } from '../format.ts';

const label = (host: string, port: number) => `${host.includes(':') ? `[${host}]` : host}${port === 80 || port === 443 ? '' : `:${port}`}`;

export function NetworkSection({ network: n }: { network: NetworkReport }) {
  return (
    <section aria-labelledby="net-h" className="network">
      <h2 id="net-h">Network <span className="hint">what the sandbox reached (only the host's own repositories and --allow-host)</span></h2>
      {n.hosts.length === 0 ? <p className="muted">The sandbox reached no repository.</p> : (
        <table className="grid compact">
          <thead><tr><th>Host</th><th>Requests</th><th>Received</th><th>From cache</th><th /></tr></thead>
          <tbody>
            {n.hosts.map((h) => (
              <tr key={`${h.host}:${h.port}`}>
                <td className="mono">{label(h.host, h.port)}{h.tunnels > 0 && <span className="muted"> https</span>}</td>
                <td>{h.requests}</td><td>{formatBytes(h.bytes)}</td><td>{h.cachedBytes ? formatBytes(h.cachedBytes) : '—'}</td>
                <td className="muted">{h.via ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {n.refusals.length > 0 && (
        <>
          <h3 className="warn">Refused ({n.refusals.length})</h3>
          <ul className="refusals">
            {n.refusals.map((r) => (
              <li key={`${r.host}:${r.port}`}><code>{label(r.host, r.port)}{r.path ?? ''}</code>{r.count > 1 && <span className="muted"> ×{r.count}</span>} <span className="muted">{r.reason}</span></li>
            ))}
          </ul>
        </>
      )}
      {n.failures.length > 0 && (
        <>
          <h3 className="bad">Could not be reached ({n.failures.length})</h3>
          <ul className="failures">
            {n.failures.map((f) => (
              <li key={`${f.host}:${f.port}:${f.cause}`}><code>{label(f.host, f.port)}</code> {f.cause}{f.count > 1 && <span className="muted"> ×{f.count}</span>}</li>
            ))}
          </ul>
        </>
      )}
      {n.unreachable.length > 0 && (
        <>
          <h3>Sources the sandbox cannot use</h3>
          <ul className="unreachable">
            {n.unreachable.map((u) => <li key={`${u.file}:${u.uri}`}><code>{u.uri}</code> <span className="muted">({u.file}) {u.reason}</span></li>)}
          </ul>
        </>
      )}
    </section>
  );
}
