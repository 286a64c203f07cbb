// Fleets: every batch (started with `understudy batch`), newest first. Its groups are known before
// anything boots (the survey captures every host first): which hosts share one rehearsal, on what basis,
// and who rehearses for them. Per host: its state and how it got its rehearsal — its own sandbox, or the
// representative's, verified path by path (and if not, what sent it to a rehearsal of its own) — and
// where its sandbox ran (the pool member), how long it waited for one and how long the rehearsal took,
// with any attempt that went back in the queue because its member was lost.
// Batches run in another process (the CLI), so the list is polled.
import { useEffect } from 'react';
import type { BatchHostView, BatchView } from '../../../main/contract/index.ts';
import { RunBadge } from '../components/badges.tsx';
import { formatSeconds, formatTime, shortId } from '../format.ts';
import { href } from '../router.ts';
import { useCommand } from '../transport-context.tsx';

const POLL_MS = 2000;

function Rehearsal({ h }: { h: BatchHostView }) {
  const r = h.rehearsal;
  if (!r) return <span className="muted">—</span>;
  if (r.mode === 'shared') {
    return (
      <span>took <span className="mono">{r.fromTarget}</span>'s rehearsal
        <div className="sub">{r.verified} of {r.deltaPaths} delta paths verified identical{r.already ? `, ${r.already} already so` : ''}
          {r.merged?.length ? `, merged: ${r.merged.join(', ')}` : ''}; {r.hostSpecific} host-specific paths kept</div>
      </span>
    );
  }
  if (!r.conflicts?.length) return <span>own sandbox</span>;
  return (
    <span>own sandbox: differs from <span className="mono">{r.fromTarget}</span> where the upgrade writes
      <ul className="sub">{r.conflicts.slice(0, 5).map((c) => <li key={c.path}><span className="mono">/{c.path}</span>: {c.host}</li>)}</ul>
    </span>
  );
}

function Sandbox({ h }: { h: BatchHostView }) {
  const lost = h.requeued?.map((a) => (
    <div key={a.run} className="sub warn">retried: {a.member ? `lost ${a.member}` : 'its member was lost'} (run <span className="mono">{a.run}</span>)</div>
  ));
  if (h.member === undefined) return <span>{lost?.length ? lost : <span className="muted">—</span>}</span>;
  const times = [
    h.waitSeconds !== undefined ? `waited ${formatSeconds(h.waitSeconds)}` : undefined,
    h.rehearsalSeconds !== undefined ? `rehearsal ${formatSeconds(h.rehearsalSeconds)}` : undefined,
  ].filter(Boolean).join(', ');
  return (
    <span><span className="mono">{h.member}</span>{h.sharedRehearsal && <span className="muted"> (shared rehearsal)</span>}
      {times && <div className="sub">{times}</div>}
      {lost}
    </span>
  );
}

function Batch({ b }: { b: BatchView }) {
  const status = b.running ? 'running' : b.finishedAt ? (b.ok ? 'done' : 'failed') : 'interrupted';
  return (
    <article className="batch" aria-label={`batch ${b.id}`}>
      <div className="screen-head">
        <h2 className="mono">{b.id}</h2>
        <span>{b.kind}</span>
        <RunBadge run={{ status: status as 'running', kind: 'upgrade' }} />
        <span className="muted">{formatTime(b.createdAt)}</span>
        {b.stopped && <span className="warn">{b.stopped}</span>}
      </div>
      <h3>Groups {b.sharing ? '' : <span className="muted">(sharing off: every host rehearses on its own)</span>}</h3>
      {b.sharing && b.groups.length === 0 && <p className="muted">Capturing the hosts to group them…</p>}
      {b.groups.length > 0 && (
        <table className="grid compact" aria-label="groups">
          <thead><tr><th>#</th><th>Rehearsed by</th><th>Members</th><th>Basis</th></tr></thead>
          <tbody>
            {b.groups.map((g, i) => (
              <tr key={g.representative}>
                <td>{i + 1}</td>
                <td className="mono">{g.representative}</td>
                <td>{g.members.length} <span className="sub mono">{g.members.join(' ')}</span></td>
                <td>{g.by === 'content' ? 'identical trees' : 'same release, packages and sources'}<div className="sub">{g.label}</div></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {b.surveyFailed.length > 0 && <p className="error">Not captured: {b.surveyFailed.map((f) => `${f.target} (${f.error})`).join('; ')}</p>}
      <h3>Hosts</h3>
      <table className="grid compact" aria-label="hosts">
        <thead><tr><th>Host</th><th>Group</th><th>State</th><th>Rehearsal</th><th>Sandbox on</th><th>Run</th></tr></thead>
        <tbody>
          {b.hosts.map((h) => (
            <tr key={h.target}>
              <td className="mono">{h.target}{h.content && <div className="sub">content {shortId(h.content)}</div>}</td>
              <td>{h.group === undefined ? '—' : h.group + 1}</td>
              <td><RunBadge run={{ status: (h.outcome ? 'done' : h.status) as 'running', outcome: h.outcome, kind: b.kind as 'upgrade' }} />{h.error && <div className="sub error">{h.error}</div>}</td>
              <td><Rehearsal h={h} /></td>
              <td><Sandbox h={h} /></td>
              <td>{h.run ? <a className="mono" href={href({ screen: 'run', id: h.run })}>{h.run}</a> : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </article>
  );
}

export function FleetsScreen() {
  const [batches, reload] = useCommand('batches:list', { limit: 20 });
  useEffect(() => { const t = setInterval(reload, POLL_MS); return () => clearInterval(t); }, []);
  return (
    <section aria-labelledby="fleets-h">
      <div className="screen-head"><h1 id="fleets-h">Fleets</h1></div>
      {batches.state === 'error' && <p className="error" role="alert">{batches.message}</p>}
      {batches.state === 'ok' && batches.value.length === 0 && (
        <p className="empty">No batches yet. Start one with <span className="mono">understudy batch FLEET.yaml</span>: its groups show here before anything boots.</p>
      )}
      {batches.state === 'ok' && batches.value.map((b) => <Batch key={b.id} b={b} />)}
    </section>
  );
}
