// History: every run, filterable by host and outcome; Enter or click opens one; an interrupted run (its
// process died) has a Resume button. Refreshes live.
import { useEffect, useMemo, useState } from 'react';
import { RunBadge } from '../components/badges.tsx';
import { formatSeconds, formatTime, secondsBetween } from '../format.ts';
import { navigate } from '../router.ts';
import { useCommand, useTransport } from '../transport-context.tsx';

export function HistoryScreen() {
  const t = useTransport();
  const [runs, reload] = useCommand('runs:list', {});
  const [host, setHost] = useState('');
  const [outcome, setOutcome] = useState('');
  const [resumeError, setResumeError] = useState<string | undefined>();
  useEffect(() => t.on('run:updated', () => reload()), [t]);

  const all = runs.state === 'ok' ? runs.value : [];
  const hosts = useMemo(() => [...new Set(all.map((r) => r.target))].sort(), [all]);
  const outcomes = useMemo(() => [...new Set(all.map((r) => r.outcome ?? r.status))].sort(), [all]);
  const shown = all.filter((r) => (!host || r.target === host) && (!outcome || (r.outcome ?? r.status) === outcome));

  return (
    <section aria-labelledby="history-h">
      <div className="screen-head">
        <h1 id="history-h">History</h1>
        <div className="actions filters">
          <label>Host <select aria-label="Filter by host" value={host} onChange={(e) => setHost(e.target.value)}>
            <option value="">all</option>{hosts.map((h) => <option key={h}>{h}</option>)}
          </select></label>
          <label>Outcome <select aria-label="Filter by outcome" value={outcome} onChange={(e) => setOutcome(e.target.value)}>
            <option value="">all</option>{outcomes.map((o) => <option key={o}>{o}</option>)}
          </select></label>
          <span className="muted">{shown.length} of {all.length}</span>
        </div>
      </div>
      {runs.state === 'error' && <p className="error" role="alert">{runs.message}</p>}
      {resumeError && <div className="banner error" role="alert">{resumeError}</div>}
      {runs.state === 'ok' && all.length === 0 && <p className="empty">No runs yet.</p>}
      {shown.length > 0 && (
        <table className="grid clickable">
          <thead><tr><th>Run</th><th>Kind</th><th>Target</th><th>Outcome</th><th>Stage</th><th>Started</th><th className="num">Duration</th><th /></tr></thead>
          <tbody>
            {shown.map((r) => (
              <tr key={r.id} tabIndex={0} aria-label={`run ${r.id}`} onClick={() => navigate({ screen: 'run', id: r.id })}
                onKeyDown={(e) => { if (e.key === 'Enter') navigate({ screen: 'run', id: r.id }); }}>
                <td className="mono">{r.id}</td>
                <td>{r.kind}{r.rollbackOf && <span className="sub"> of <span className="mono">{r.rollbackOf}</span></span>}</td>
                <td className="mono">{r.target}</td>
                <td><RunBadge run={r} /></td>
                <td>{r.status === 'running' || r.status === 'interrupted' ? r.stage ?? '—' : ''}</td>
                <td>{formatTime(r.startedAt)}</td>
                <td className="num">{formatSeconds(secondsBetween(r.startedAt, r.endedAt))}</td>
                <td>{r.status === 'interrupted' && (
                  // the same contract command as `understudy resume RUN`; the run screen follows it from there
                  <button type="button" className="primary small" aria-label={`Resume run ${r.id}`} onClick={(e) => {
                    e.stopPropagation();
                    void t.invoke('run:resume', { run: r.id }).then((env) => {
                      if (env.ok) navigate({ screen: 'run', id: r.id });
                      else setResumeError(`Run ${r.id}: ${env.error.message}`);
                    });
                  }}>Resume</button>
                )}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
