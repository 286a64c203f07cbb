// Pure text for `show RUN`: header, stage list with timings, and the result's evidence.
import type { RunRecord } from '../../app/run-store/run-store.ts';
import type { StageState } from '../../core/domain/events.ts';
import type { RunResult } from '../../core/workflow/run-result.ts';
import { stageLine } from './stage-line.ts';
import { statusText, type RunRow } from './run-listing.ts';
import { rebootSummary, skippedStageNote } from '../../core/workflow/reboot-rehearsal.ts';

export interface StageSummary { stage: string; state: StageState; startedAt: string; seconds?: number; attempts: number; error?: string; note?: string }

export function stageSummaries(timings: Array<{ stage: string; startedAt: string; seconds?: number; attempts: number }>,
  result: Partial<RunResult> | undefined, finished: boolean): StageSummary[] {
  return timings.map((t) => {
    const err = result?.error?.stage === t.stage ? result.error : undefined;
    const note = err || !result ? undefined : skippedStageNote(result, t.stage);
    const state: StageState = err ? (err.code === 'cancelled' ? 'cancelled' : 'failed')
      : note ? 'skipped' : t.seconds !== undefined ? 'done' : finished ? 'cancelled' : 'active';
    return { ...t, state, ...(err ? { error: err.message } : {}), ...(note ? { note } : {}) };
  });
}

export function runDetailText(rec: RunRecord, row: RunRow, stages: StageSummary[]): string {
  const r = (rec.result ?? {}) as Partial<RunResult>;
  const lines = [
    `run      ${rec.id}`,
    `verb     ${rec.verb}`,
    `target   ${rec.target}`,
    `status   ${statusText(row)}`,
    `started  ${rec.createdAt}  (${row.seconds.toFixed(1)}s)`,
    '',
    ...stages.map((s) => `  ${stageLine({ stage: s.stage, state: s.state, startedAtMs: Date.parse(s.startedAt), ...(s.seconds !== undefined ? { seconds: s.seconds } : {}), ...(s.error ? { error: s.error } : {}), ...(s.note ? { note: s.note } : {}) }, Date.now())}${s.attempts > 1 ? `  (${s.attempts} attempts)` : ''}`),
  ];
  if (r.map1) lines.push('', `map1     ${r.map1}`);
  if (r.map2) lines.push(`map2     ${r.map2}`);
  if (r.delta) lines.push(`delta    ${r.delta.added.length} added, ${r.delta.changed.length} changed, ${r.delta.removed.length} removed`);
  for (const p of r.packages?.upgraded ?? []) lines.push(`package  ${p.name} ${p.from ?? '?'} -> ${p.to ?? '?'}`);
  for (const c of r.checks ?? []) lines.push(`check    ${c.ok ? 'ok  ' : 'FAIL'} ${c.cmd}`);
  if (r.reboot) lines.push(`boot     ${rebootSummary(r.reboot)}`);
  for (const c of r.conflicts ?? []) lines.push(`conflict ${c.path}`);
  if (r.swap) lines.push(`swap     ${JSON.stringify(r.swap)}`);
  for (const h of r.health ?? []) lines.push(`health   ${h.ok ? 'ok  ' : 'FAIL'} ${h.cmd}`);
  if (r.error) lines.push('', `error    ${r.error.code} at ${r.error.stage}: ${r.error.message}`);
  return lines.join('\n');
}
