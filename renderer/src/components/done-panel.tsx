// Done: outcome, timings per stage, and a prominent Rollback behind a confirmation dialog.
import { useRef, useState } from 'react';
import type { RunDetail } from '../../../main/contract/index.ts';
import { formatSeconds, formatTime, secondsBetween } from '../format.ts';
import { href } from '../router.ts';
import { RunBadge } from './badges.tsx';

const explain: Record<string, string> = {
  upgraded: 'The verified delta is on the host and its health checks passed.',
  rehearsed: 'The upgrade ran in the sandbox; the host was not touched.',
  'check-failed': 'A check failed in the sandbox; the host was not touched.',
  conflict: 'The host changed on paths the swap would write; the host was not touched.',
  'rolled-back': 'Health failed after the swap; the host was rolled back.',
  'needs-recovery': 'The swap could neither finish nor undo: run `understudy recover` on this target.',
  cancelled: 'Cancelled; the sandbox was cleaned up.',
  aborted: 'Declined at review; the host was not touched.',
  interrupted: 'The process driving this run stopped. Resume continues from the interrupted stage.',
};

const rollbackExplain: Record<string, string> = {
  'rolled-back': 'The host is back to its pre-swap content; changes others made since were kept.',
  failed: 'The rollback failed; the host journal decides what recover does next.',
};

/** One line on what the run changed (or would have): packages and files. */
function changeLine(d: RunDetail): string | undefined {
  if (!d.review) return undefined;
  const { packages: p, files: f } = d.review;
  const pk = p.upgraded.slice(0, 3).map((x) => `${x.name} ${x.from ?? '?'} → ${x.to ?? '?'}`);
  if (p.upgraded.length > 3) pk.push(`${p.upgraded.length - 3} more upgraded`);
  if (p.installed.length) pk.push(`${p.installed.length} installed`);
  if (p.removed.length) pk.push(`${p.removed.length} removed`);
  return [...pk, `${f.added.length + f.changed.length + f.removed.length} files`].join(' · ');
}

export function DonePanel({ detail, onRollback }: { detail: RunDetail; onRollback(): Promise<string | undefined> }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const outcome = detail.outcome ?? detail.status;
  const text = (detail.kind === 'rollback' ? rollbackExplain[outcome] : undefined) ?? explain[outcome] ?? outcome;
  const changes = changeLine(detail);
  const total = secondsBetween(detail.startedAt, detail.endedAt);
  const timed = detail.stages.filter((s) => s.seconds !== undefined);
  const longest = Math.max(1, ...timed.map((s) => s.seconds ?? 0));

  async function confirm() {
    setBusy(true);
    const err = await onRollback();
    setBusy(false);
    setError(err);
    if (!err) dialog.current?.close();
  }

  return (
    <div className="done">
      <div className={`outcome tone-${outcome}`}>
        <RunBadge run={detail} />
        <div>
          <div className="outcome-text">{text}</div>
          {changes && <div className="mono">{changes}</div>}
          {detail.error && <div className="error">{detail.error.code === outcome ? '' : `${detail.error.code}: `}{detail.error.message}</div>}
          <div className="muted">Started {formatTime(detail.startedAt)} · finished {formatTime(detail.endedAt)} · total {formatSeconds(total)}</div>
          {detail.rollbackOf && <div>Rolled back run <a href={href({ screen: 'run', id: detail.rollbackOf })} className="mono">{detail.rollbackOf}</a></div>}
        </div>
        {detail.canRollback && (
          <button type="button" className="danger big" onClick={() => { setError(undefined); dialog.current?.showModal(); }}>
            Roll back this host…
          </button>
        )}
      </div>

      <h2>Timings</h2>
      <table className="grid compact timings">
        <tbody>
          {timed.map((s) => (
            <tr key={s.name}>
              <td>{s.name}</td>
              <td className="num">{formatSeconds(s.seconds)}</td>
              <td className="barcell"><div className={`tbar st-${s.state}`} style={{ width: `${(100 * (s.seconds ?? 0)) / longest}%` }} /></td>
            </tr>
          ))}
        </tbody>
      </table>

      <dialog ref={dialog} className="confirm" aria-labelledby="rb-h">
        <h2 id="rb-h">Roll back {detail.target}?</h2>
        <p>Everything this run's swap changed is put back to its pre-swap content, with the same journal, recovery
          and health checks. Changes made on the host by others since are kept.</p>
        {error && <p className="error" role="alert">{error}</p>}
        <div className="actions">
          <button type="button" className="danger" disabled={busy} onClick={() => void confirm()}>{busy ? 'Starting rollback…' : 'Roll back now'}</button>
          <button type="button" autoFocus onClick={() => dialog.current?.close()}>Keep the upgrade</button>
        </div>
      </dialog>
    </div>
  );
}
