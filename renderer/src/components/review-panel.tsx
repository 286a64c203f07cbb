// Review: the evidence before the host is touched — packages, files by directory, conflicts (a choice
// per path), check results, expected disruption, what the sandbox reached — and the Approve / Abort decision.
import { useState } from 'react';
import type { ConflictChoice, Review } from '../../../main/contract/index.ts';
import { groupByDirectory } from '../format.ts';
import { NetworkSection } from './network-section.tsx';
import { Diff, KeptBackSection } from './kept-back-section.tsx';

export function ReviewPanel({ review, decidable, onApprove, onAbort }: {
  review: Review;
  decidable: boolean;
  onApprove(choices: ConflictChoice[]): Promise<void>;
  onAbort(): Promise<void>;
}) {
  const [choices, setChoices] = useState<Record<string, 'host' | 'sandbox'>>({});
  const [busy, setBusy] = useState(false);
  const { packages: pk, files, conflicts, checks, disruption } = review;
  const keptBack = review.keptBack ?? [];
  const unresolved = conflicts.filter((c) => !choices[c.path]).length;
  const failedChecks = checks.filter((c) => !c.ok).length;
  const act = async (f: () => Promise<void>) => { setBusy(true); try { await f(); } finally { setBusy(false); } };

  return (
    <div className="review">
      <div className="summary-strip">
        <span><b>{pk.upgraded.length}</b> upgraded · <b>{pk.installed.length}</b> new · <b>{pk.removed.length}</b> removed packages</span>
        {!review.partial && <span><b>{files.added.length}</b> added · <b>{files.changed.length}</b> changed · <b>{files.removed.length}</b> removed files</span>}
        <span className={conflicts.length ? 'warn' : ''}><b>{conflicts.length}</b> conflicts</span>
        {keptBack.length > 0 && <span><b>{keptBack.length}</b> sandbox-only paths</span>}
        <span className={failedChecks ? 'bad' : 'good'}>{checks.length === 0 ? 'no checks' : `${checks.length - failedChecks}/${checks.length} checks passed`}</span>
        <span>{disruption.reboot ? <b className="warn">reboot</b> : 'no reboot'}{disruption.restart.length > 0 && ` · restarts ${disruption.restart.join(', ')}`}</span>
        {review.network && (review.network.refusals.length + review.network.failures.length > 0) && (
          <span className="warn"><b>{review.network.refusals.length}</b> refused · <b>{review.network.failures.length}</b> unreachable</span>
        )}
      </div>

      {review.partial && <p className="banner-inline warn">The run stopped before the sandbox was captured again: the file delta is unknown.</p>}
      <div className="review-cols">
        <section aria-labelledby="pk-h">
          <h2 id="pk-h">Packages</h2>
          {pk.upgraded.length + pk.installed.length + pk.removed.length === 0 ? <p className="muted">No package changes.</p> : (
            <table className="grid compact">
              <thead><tr><th>Package</th><th>From</th><th /><th>To</th></tr></thead>
              <tbody>
                {pk.upgraded.map((p) => <tr key={`u-${p.name}`}><td className="mono">{p.name}</td><td className="mono">{p.from}</td><td>→</td><td className="mono">{p.to}</td></tr>)}
                {pk.installed.map((p) => <tr key={`i-${p.name}`}><td className="mono">{p.name}</td><td className="muted">new</td><td>→</td><td className="mono">{p.to ?? p.from}</td></tr>)}
                {pk.removed.map((p) => <tr key={`r-${p.name}`}><td className="mono">{p.name}</td><td className="mono">{p.from ?? p.to}</td><td>→</td><td className="bad">removed</td></tr>)}
              </tbody>
            </table>
          )}
          <h2>Checks in the sandbox</h2>
          {checks.length === 0 ? <p className="muted">No checks were given.</p> : (
            <ul className="checks">
              {checks.map((c, i) => (
                <li key={i} className={c.ok ? 'good' : 'bad'}><span className="mark">{c.ok ? '✓' : '✕'}</span><code>{c.cmd}</code>{!c.ok && c.exitCode != null && <span className="muted"> (exit code {c.exitCode})</span>}</li>
              ))}
            </ul>
          )}
          {review.reboot && (
            <>
              <h2>Reboot rehearsal</h2>
              <p className={review.reboot.ok === false ? 'bad' : review.reboot.rehearsed ? 'good' : 'muted'} data-testid="reboot-rehearsal">{review.reboot.summary}</p>
              {review.reboot.kernel && <p className="muted mono">{review.reboot.kernel}</p>}
              {review.reboot.consoleTail && <details><summary>Console, last lines</summary><pre className="console-tail">{review.reboot.consoleTail}</pre></details>}
            </>
          )}
          <h2>Expected disruption</h2>
          <p>{disruption.reboot ? 'The host will reboot.' : 'No reboot.'} {disruption.restart.length ? `Services restarted: ${disruption.restart.join(', ')}.` : 'No service restarts.'} {disruption.reason && <span className="muted">{disruption.reason}</span>}</p>
        </section>

        <section aria-labelledby="files-h">
          <h2 id="files-h">Files</h2>
          {review.partial ? <p className="muted">Not captured.</p> : files.added.length + files.changed.length + files.removed.length === 0 && <p className="muted">No file changes.</p>}
          <FileGroups title="Changed" kind="changed" paths={files.changed} />
          <FileGroups title="Added" kind="added" paths={files.added} />
          <FileGroups title="Removed" kind="removed" paths={files.removed} />
        </section>
      </div>

      {review.network && <NetworkSection network={review.network} />}

      {conflicts.length > 0 && (
        <section aria-labelledby="conf-h" className="conflicts">
          <h2 id="conf-h">Conflicts <span className="hint">the host changed these since the capture: choose per path</span></h2>
          <table className="grid compact">
            <thead><tr><th>Path</th><th>Host changed</th><th>Upgrade changed</th><th>Keep</th></tr></thead>
            <tbody>
              {conflicts.map((c) => (
                <tr key={c.path}>
                  <td className="mono">{c.path}</td>
                  <td>{c.host}{c.hostDiff && <Diff title="on the host if you keep the upgrade's" text={c.hostDiff} />}</td>
                  <td>{c.sandbox}{c.sandboxDiff && <Diff title="the upgrade's change" text={c.sandboxDiff} />}</td>
                  <td><div className="radios inline" role="radiogroup" aria-label={`Keep for ${c.path}`}>
                    {(['host', 'sandbox'] as const).map((v) => (
                      <label key={v}><input type="radio" name={`c-${c.path}`} checked={choices[c.path] === v} disabled={!decidable}
                        onChange={() => setChoices((x) => ({ ...x, [c.path]: v }))} /> {v === 'host' ? "host's" : "upgrade's"}</label>
                    ))}
                  </div></td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}

      <KeptBackSection items={keptBack.filter((k) => k.outcome !== 'conflict')} chosen={choices} decidable={decidable}
        onChoose={(path, take) => setChoices((x) => { const { [path]: _was, ...rest } = x; return take ? { ...rest, [path]: 'sandbox' } : rest; })} />

      {decidable && (
        <div className="decision">
          <button type="button" className="primary" disabled={busy || unresolved > 0}
            onClick={() => void act(() => onApprove(Object.entries(choices).map(([path, prefer]) => ({ path, prefer }))))}>
            Approve and swap
          </button>
          <button type="button" className="danger-outline" disabled={busy} onClick={() => void act(onAbort)}>Abort — leave the host untouched</button>
          {unresolved > 0 && <span className="warn">{unresolved} conflict{unresolved > 1 ? 's still need' : ' still needs'} a choice</span>}
        </div>
      )}
    </div>
  );
}

function FileGroups({ title, kind, paths }: { title: string; kind: string; paths: string[] }) {
  if (paths.length === 0) return null;
  const groups = groupByDirectory(paths);
  return (
    <div className={`filegroups f-${kind}`}>
      <h3>{title} <span className="muted">({paths.length})</span></h3>
      {groups.map((g) => (
        <details key={g.dir} open={groups.length <= 8}>
          <summary><span className="mono">{g.dir}</span> <span className="muted">{g.names.length}</span></summary>
          <ul>{g.names.map((n) => <li key={n} className="mono">{n}</li>)}</ul>
        </details>
      ))}
    </div>
  );
}
