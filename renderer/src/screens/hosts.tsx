// Hosts: every known target, its last map, its last run and its protection verdict (assess on demand).
import { useState } from 'react';
import type { Assessment } from '../../../main/contract/index.ts';
import { RunBadge, VerdictBadge } from '../components/badges.tsx';
import { formatBytes, formatTime, shortId } from '../format.ts';
import { href } from '../router.ts';
import { useCommand, useTransport } from '../transport-context.tsx';

export function HostsScreen() {
  const t = useTransport();
  const [hosts, reload] = useCommand('hosts:list', {});
  const [assessed, setAssessed] = useState<Record<string, Assessment | { error: string } | 'busy'>>({});

  async function assess(target: string) {
    setAssessed((a) => ({ ...a, [target]: 'busy' }));
    const env = await t.invoke('hosts:assess', { target });
    setAssessed((a) => ({ ...a, [target]: env.ok ? env.value : { error: env.error.message } }));
  }

  return (
    <section aria-labelledby="hosts-h">
      <div className="screen-head">
        <h1 id="hosts-h">Hosts</h1>
        <div className="actions">
          <button type="button" onClick={reload}>Refresh</button>
          <a className="button primary" href={href({ screen: 'new' })}>New upgrade</a>
        </div>
      </div>
      {hosts.state === 'loading' && <p className="muted">Loading hosts…</p>}
      {hosts.state === 'error' && <p className="error" role="alert">{hosts.message}</p>}
      {hosts.state === 'ok' && hosts.value.length === 0 && (
        <p className="empty">No hosts yet. A host appears here once it has been captured or rehearsed. <a href={href({ screen: 'new' })}>Start one</a>.</p>
      )}
      {hosts.state === 'ok' && hosts.value.length > 0 && (
        <table className="grid">
          <thead>
            <tr><th>Target</th><th>Last map</th><th>Captured</th><th className="num">Files</th><th className="num">Size</th><th>Last run</th><th>Protection</th><th /></tr>
          </thead>
          <tbody>
            {hosts.value.map((h) => {
              const a = assessed[h.target];
              return [
                <tr key={h.target}>
                  <td><span className="mono">{h.target}</span>{h.host && h.host !== h.target && `dir:${h.host}` !== h.target && <div className="sub">{h.host}</div>}</td>
                  <td className="mono">{shortId(h.lastMap?.id)}</td>
                  <td>{formatTime(h.lastMap?.capturedAt)}</td>
                  <td className="num">{h.lastMap?.files ?? '—'}</td>
                  <td className="num">{formatBytes(h.lastMap?.bytes)}</td>
                  <td>{h.lastRun ? <a href={href({ screen: 'run', id: h.lastRun.id })}><RunBadge run={h.lastRun} /> {formatTime(h.lastRun.startedAt)}</a> : '—'}</td>
                  <td>{a && typeof a === 'object' && 'verdict' in a ? <VerdictBadge verdict={a.verdict} assessed /> : <VerdictBadge verdict={h.verdict} />}</td>
                  <td><div className="row-actions">
                    <button type="button" onClick={() => void assess(h.target)} disabled={a === 'busy'}>{a === 'busy' ? 'Assessing…' : 'Assess'}</button>
                    <a className="button" href={href({ screen: 'new', target: h.target })}>Upgrade…</a>
                  </div></td>
                </tr>,
                a && a !== 'busy' && (
                  <tr key={`${h.target}-assess`} className="detail-row">
                    <td colSpan={8}>
                      {'error' in a ? <span className="error">{a.error}</span> : (
                        <ul className="assess">
                          {a.items.map((i) => <li key={i.name}><VerdictBadge verdict={i.verdict} plain /> <b>{i.name}</b> <span className="muted">{i.detail}</span></li>)}
                        </ul>
                      )}
                    </td>
                  </tr>
                ),
              ];
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
