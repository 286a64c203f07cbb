// The live parts of a run: stage timeline with elapsed times, the progress bar, and the log panes.
import { useEffect, useRef, useState } from 'react';
import type { RunEvent, StageInfo } from '../../../main/contract/index.ts';
import { formatBytes, formatSeconds, secondsBetween } from '../format.ts';
import { stageGlyph } from './badges.tsx';

/** Re-renders every second while `on` (for live elapsed times). */
export function useTicker(on: boolean): void {
  const [, setN] = useState(0);
  useEffect(() => {
    if (!on) return;
    const t = setInterval(() => setN((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [on]);
}

export function StageTimeline({ stages }: { stages: StageInfo[] }) {
  useTicker(stages.some((s) => s.state === 'active'));
  return (
    <ol className="timeline" aria-label="Stages">
      {stages.map((s) => (
        <li key={s.name} className={`stage st-${s.state}`} aria-current={s.state === 'active' ? 'step' : undefined}>
          <span className="glyph" aria-hidden="true">{stageGlyph[s.state] ?? '○'}</span>
          <span className="name">{s.name}{s.attempt && <span className="muted"> (attempt {s.attempt})</span>}</span>
          <span className="state-label">{s.state === 'pending' ? '' : s.state}</span>
          <span className="elapsed">{s.state === 'active' ? formatSeconds(secondsBetween(s.startedAt)) : s.seconds !== undefined ? formatSeconds(s.seconds) : ''}</span>
          {s.error && <div className="stage-error" role="alert">{s.error.code}: {s.error.message}</div>}
          {s.note && <div className="stage-note muted">{s.note}</div>}
        </li>
      ))}
    </ol>
  );
}

export function ProgressBar({ p }: { p?: Extract<RunEvent, { type: 'progress' }> }) {
  if (!p) return <div className="progress idle"><span className="muted">No transfer in progress</span></div>;
  const pct = p.total && p.current !== undefined ? Math.min(100, (100 * p.current) / p.total) : undefined;
  return (
    <div className="progress">
      <div className="progress-label">
        <b>{p.stage}</b>{p.step && <span> · {p.step}</span>}
        <span className="progress-nums">
          {formatBytes(p.current)}{p.total !== undefined && ` of ${formatBytes(p.total)}`}
          {p.bytesPerSec !== undefined && ` · ${formatBytes(p.bytesPerSec)}/s`}
          {p.etaSec !== undefined && ` · ETA ${formatSeconds(p.etaSec)}`}
          {pct !== undefined && ` · ${pct.toFixed(0)}%`}
        </span>
      </div>
      <div className="bar" role="progressbar" aria-label={`${p.stage} progress`} aria-valuemin={0} aria-valuemax={100}
        aria-valuenow={pct !== undefined ? Math.round(pct) : undefined}>
        <div className={pct === undefined ? 'fill indeterminate' : 'fill'} style={pct === undefined ? undefined : { width: `${pct}%` }} />
      </div>
    </div>
  );
}

type LogEvent = Extract<RunEvent, { type: 'log' }>;

/** A scrolling log that follows new lines unless the operator scrolled up to read. */
export function LogPane({ title, lines, label }: { title: string; lines: LogEvent[]; label: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const follow = useRef(true);
  useEffect(() => {
    const el = ref.current;
    if (el && follow.current) el.scrollTop = el.scrollHeight;
  }, [lines.length]);
  return (
    <div className="logpane">
      <div className="logpane-head"><span>{title}</span><span className="muted">{lines.length} lines</span></div>
      <div ref={ref} className="log" tabIndex={0} role="log" aria-label={label}
        onScroll={(e) => { const el = e.currentTarget; follow.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24; }}>
        {lines.length === 0 && <span className="muted">nothing yet</span>}
        {lines.slice(-2000).map((l, i) => (
          <div key={i} className={`line s-${l.stream}`}>{l.source && l.stream !== 'serial' && <span className="src">{l.source}</span>}{l.text}</div>
        ))}
      </div>
    </div>
  );
}
