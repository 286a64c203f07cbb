// One run: Live (stages, progress, command output, serial console, Cancel), Review (the approval
// gate) and Result (Done). The view follows the run: Review opens at the gate, Result at the end.
import { useEffect, useState } from 'react';
import { RunBadge } from '../components/badges.tsx';
import { DonePanel } from '../components/done-panel.tsx';
import { LogPane, ProgressBar, StageTimeline, useTicker } from '../components/live.tsx';
import { ReviewPanel } from '../components/review-panel.tsx';
import { formatSeconds, formatTime, secondsBetween } from '../format.ts';
import { navigate } from '../router.ts';
import { useTransport } from '../transport-context.tsx';
import { useRun } from '../use-run.ts';

type Tab = 'live' | 'review' | 'result';
const HOST_TOUCHED = ['swapping', 'restarting', 'health'];
const finished = (status: string) => !['running', 'review'].includes(status);

export function RunScreen({ id }: { id: string }) {
  const t = useTransport();
  const { detail, error, logs, progress, reload } = useRun(id);
  const [tab, setTab] = useState<Tab>('live');
  const [actionError, setActionError] = useState<string | undefined>();
  const status = detail?.status ?? 'running';
  useTicker(status === 'running');

  // Follow the run to where the operator is needed.
  useEffect(() => {
    if (status === 'review') setTab('review');
    else if (finished(status)) setTab('result');
  }, [status]);

  if (error) return <p className="error" role="alert">Run {id}: {error}</p>;
  if (!detail) return <p className="muted">Loading run…</p>;

  const act = async (f: () => ReturnType<typeof t.invoke>) => {
    setActionError(undefined);
    const env = await f();
    if (!env.ok) setActionError(env.error.message);
    reload();
    return env;
  };
  const output = logs.filter((l) => l.stream !== 'serial');
  const serial = logs.filter((l) => l.stream === 'serial');
  const tabs: Array<[Tab, string, boolean]> = [
    ['live', 'Live', true], ['review', 'Review', Boolean(detail.review)], ['result', 'Result', finished(status)],
  ];

  return (
    <section className="run" aria-labelledby="run-h">
      <div className="screen-head">
        <h1 id="run-h"><span className="muted">{detail.kind}</span> <span className="mono">{detail.target}</span></h1>
        <RunBadge run={detail} />
        <span className="muted">run <span className="mono">{detail.id}</span> · started {formatTime(detail.startedAt)} · {formatSeconds(secondsBetween(detail.startedAt, detail.endedAt))}</span>
        <div className="actions">
          {status === 'interrupted' && (
            <button type="button" className="primary" onClick={() => void act(() => t.invoke('run:resume', { run: id }))}>Resume run</button>
          )}
          {(status === 'running' || status === 'review') && (
            <button type="button" className="danger-outline" onClick={() => {
              // From the swap on, cancelling means rolling the host back: say so first.
              if (HOST_TOUCHED.includes(detail.stage ?? '') && !window.confirm('The swap has started: cancelling now rolls the host back. Cancel the run?')) return;
              void act(() => t.invoke('run:cancel', { run: id }));
            }}>Cancel run</button>
          )}
        </div>
      </div>
      {actionError && <div className="banner error" role="alert">{actionError}</div>}
      {detail.resumes.length > 0 && (
        <ul className="resumes" aria-label="Resumes">
          {detail.resumes.map((n) => <li key={n.at}><span className="muted">{formatTime(n.at)}</span> {n.text}</li>)}
        </ul>
      )}
      <div className="tabs" role="tablist">
        {tabs.map(([k, label, enabled]) => (
          <button key={k} type="button" role="tab" aria-selected={tab === k} disabled={!enabled} onClick={() => setTab(k)}
            className={tab === k ? 'active' : ''}>{label}{k === 'review' && status === 'review' && <span className="dot" aria-label="waiting for you" />}</button>
        ))}
      </div>

      <div className="run-body">
        <aside className="run-side"><StageTimeline stages={detail.stages} /></aside>
        <div className="run-main">
          {tab === 'live' && (
            <>
              <ProgressBar p={status === 'running' && progress?.stage === detail.stage ? progress : undefined} />
              <div className="panes">
                <LogPane title="Command output" label="Command output" lines={output} />
                <LogPane title="Sandbox serial console" label="Serial console" lines={serial} />
              </div>
            </>
          )}
          {tab === 'review' && detail.review && (
            <ReviewPanel review={detail.review} decidable={status === 'review'}
              onApprove={async (choices) => { await act(() => t.invoke('run:approve', { run: id, choices })); setTab('live'); }}
              onAbort={async () => { await act(() => t.invoke('run:abort', { run: id })); }} />
          )}
          {tab === 'result' && (
            <DonePanel detail={detail} onRollback={async () => {
              const env = await t.invoke('run:rollback', { run: id });
              if (!env.ok) return env.error.message;
              navigate({ screen: 'run', id: env.value.run });
              return undefined;
            }} />
          )}
        </div>
      </div>
    </section>
  );
}
