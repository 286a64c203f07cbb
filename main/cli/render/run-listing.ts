// Pure views of stored runs for `runs` and `show`: rows with state/outcome and durations.
import type { RunRecord } from '../../app/run-store/run-store.ts';
import { formatSeconds } from './stage-line.ts';
import type { RehearsalShare } from '../../core/workflow/rehearsal-share.ts';

export interface RunRow {
  id: string; verb: string; target: string; state: string; outcome?: string; interrupted: boolean;
  started: string; seconds: number;
  /** In a batch: its own sandbox, or whose rehearsal it took (rehearsal-share.ts). */
  rehearsal?: RehearsalShare;
}

/** The REHEARSAL column: own, or the host whose verified rehearsal it took. */
export function rehearsalCell(s: RehearsalShare | undefined): string {
  if (!s) return '';
  if (s.mode === 'shared') return `took ${s.fromTarget ?? s.fromRun ?? '?'}'s`;
  return s.conflicts?.length ? `own (${s.conflicts.length} path${s.conflicts.length === 1 ? '' : 's'} differ from ${s.fromTarget ?? s.fromRun})` : 'own';
}

/** `alive(r)` tells whether the process that owns an unfinished run still exists. */
export function runRow(r: RunRecord, alive: (r: RunRecord) => boolean, nowMs = Date.now()): RunRow {
  const finished = r.outcome !== undefined;
  const interrupted = !finished && r.ownerPid !== undefined && !alive(r);
  const end = finished || interrupted ? Date.parse(r.updatedAt) : nowMs;
  const rehearsal = (r.result as { rehearsal?: RehearsalShare } | undefined)?.rehearsal;
  return {
    id: r.id, verb: r.verb, target: r.target, state: r.state, interrupted, started: r.createdAt,
    seconds: Math.max(0, (end - Date.parse(r.createdAt)) / 1000), ...(r.outcome ? { outcome: r.outcome } : {}),
    ...(rehearsal ? { rehearsal } : {}),
  };
}

export function statusText(row: RunRow): string {
  return row.outcome ?? (row.interrupted ? `interrupted at ${row.state}` : `running: ${row.state}`);
}

export function runsTable(rows: RunRow[]): string {
  if (rows.length === 0) return 'no runs';
  // a REHEARSAL column only when some run was part of a batch
  const shared = rows.some((r) => r.rehearsal);
  const head = ['RUN', 'VERB', 'TARGET', 'STATE', ...(shared ? ['REHEARSAL'] : []), 'STARTED', 'DURATION'];
  const body = rows.map((r) => [r.id, r.verb, r.target, statusText(r), ...(shared ? [rehearsalCell(r.rehearsal)] : []),
    r.started.replace('T', ' ').slice(0, 19), formatSeconds(r.seconds)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body].map((cols) => cols.map((c, i) => i === cols.length - 1 ? c : c.padEnd(widths[i]!)).join('  ')).join('\n');
}
