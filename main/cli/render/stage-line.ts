// One line of the stage list, pure: "✓ capturing   3.2s", "▸ capturing  ████░░░░ 1.2 GB / 2.0 GB ...".
import type { Progress, StageState } from '../../core/domain/events.ts';
import { formatDuration, formatProgress } from '../../core/domain/progress-format.ts';

export interface StageRow {
  stage: string;
  state: StageState;
  startedAtMs: number;
  seconds?: number;
  progress?: Progress;
  error?: string;
  /** Why a skipped stage was skipped, or why a cancelled attempt stopped. */
  note?: string;
}

/** Wide enough for the longest stage name ('rolling-back', 'cleaning-up'). */
const LABEL = 12;

const ICON: Record<StageState, string> = { pending: '·', active: '▸', done: '✓', failed: '✗', skipped: '-', cancelled: '■' };

export function formatSeconds(s: number): string {
  return s < 10 ? `${s.toFixed(1)}s` : formatDuration(s);
}

export function stageLine(row: StageRow, nowMs: number): string {
  const icon = ICON[row.state];
  if (row.state === 'active') {
    if (row.progress && (row.progress.current !== undefined || row.progress.step)) {
      return `${icon} ${formatProgress({ ...row.progress, stage: row.stage }, { labelWidth: LABEL })}`;
    }
    return `${icon} ${row.stage.padEnd(LABEL)} ${formatSeconds(Math.max(0, (nowMs - row.startedAtMs) / 1000))}`;
  }
  const took = row.seconds !== undefined ? formatSeconds(row.seconds) : '';
  const tail = row.state === 'failed' && row.error ? `  ${row.error}` : row.state === 'cancelled' ? `  ${row.note ?? 'cancelled'}`
    : row.state === 'skipped' ? `  skipped${row.note ? `: ${row.note}` : ''}` : '';
  return `${icon} ${row.stage.padEnd(LABEL)} ${took}${tail}`.trimEnd();
}
