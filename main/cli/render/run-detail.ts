// Pure text for `show RUN`: header, stage list (every attempt) with timings, resumes, the result's evidence.
import type { RunRecord, StageAttempt } from '../../app/run-store/run-store.ts';
import { describeResume } from '../../core/workflow/resume-plan.ts';
import type { StageState } from '../../core/domain/events.ts';
import type { RunResult } from '../../core/workflow/run-result.ts';
import { stageLine } from './stage-line.ts';
import { networkLines } from './network-lines.ts';
import { rehearsalShareText, type RehearsalShare } from '../../core/workflow/rehearsal-share.ts';
import { keptBackLines } from './kept-back-lines.ts';
import { statusText, type RunRow } from './run-listing.ts';
import { rebootSummary, skippedStageNote } from '../../core/workflow/reboot-rehearsal.ts';

export interface StageSummary {
  stage: string; attempt: number; state: StageState; startedAt: string; seconds?: number; error?: string;
  /** Why a skipped stage was skipped. */
  note?: string;
  /** This attempt's orchestrator died in it (the run was resumed, or can be). */
  interrupted?: boolean;
}

/** One row per attempt of a stage: a resumed run keeps the killed attempt next to the one that finished. */
export function stageSummaries(attempts: StageAttempt[], result: Partial<RunResult> | undefined, finished: boolean, interrupted = false): StageSummary[] {
  const latest = new Map<string, number>();
  for (const a of attempts) latest.set(a.stage, Math.max(latest.get(a.stage) ?? 0, a.attempt));
  return attempts.map((t) => {
    const last = latest.get(t.stage) === t.attempt;
    if (t.seconds === undefined && (!last || interrupted)) return { ...t, state: 'cancelled', interrupted: true };
    const err = last && result?.error?.stage === t.stage ? result.error : undefined;
    const note = err || !result ? undefined : skippedStageNote(result, t.stage);
    const state: StageState = err ? (err.code === 'cancelled' ? 'cancelled' : 'failed')
      : note ? 'skipped' : t.seconds !== undefined ? 'done' : finished ? 'cancelled' : 'active';
    return { ...t, state, ...(err ? { error: err.message } : {}), ...(note ? { note } : {}) };
  });
}

/** The paths behind a shared rehearsal's verdict: what was merged, what sent the run to its own sandbox. */
function rehearsalDetail(s: RehearsalShare): string[] {
  return [
    ...(s.merged ?? []).map((p) => `  merged   /${p}`),
    ...(s.conflicts ?? []).map((c) => `  differs  /${c.path}  (here: ${c.host}; in the rehearsal: ${c.sandbox})`),
  ];
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
    ...stages.map((s) => `  ${stageLine({ stage: s.stage, state: s.state, startedAtMs: Date.parse(s.startedAt), ...(s.seconds !== undefined ? { seconds: s.seconds } : {}),
      ...(s.error ? { error: s.error } : {}), ...(s.interrupted ? { note: 'interrupted (its orchestrator died)' } : s.note ? { note: s.note } : {}) }, Date.now())}${s.attempt > 1 ? `  (attempt ${s.attempt})` : ''}`),
  ];
  if (r.resumes?.length) lines.push('', ...r.resumes.map((n) => `${n.at.replace('T', ' ').slice(0, 19)}  ${describeResume(n)}`));
  if (r.map1) lines.push('', `map1     ${r.map1}`);
  if (r.rehearsal) lines.push(`rehearsal ${rehearsalShareText(r.rehearsal)}`, ...rehearsalDetail(r.rehearsal));
  if (r.map2) lines.push(`map2     ${r.map2}`);
  if (r.delta) lines.push(`delta    ${r.delta.added.length} added, ${r.delta.changed.length} changed, ${r.delta.removed.length} removed`);
  for (const p of r.packages?.upgraded ?? []) lines.push(`package  ${p.name} ${p.from ?? '?'} -> ${p.to ?? '?'}`);
  for (const c of r.checks ?? []) lines.push(`check    ${c.ok ? 'ok  ' : 'FAIL'} ${c.cmd}`);
  if (r.reboot) lines.push(`boot     ${rebootSummary(r.reboot)}`);
  lines.push(...networkLines(r.network));
  for (const c of r.conflicts ?? []) lines.push(`conflict ${c.path}`);
  lines.push(...keptBackLines(r.keptBack ?? [], ''));
  if (r.swap) lines.push(`swap     ${JSON.stringify(r.swap)}`);
  for (const h of r.health ?? []) lines.push(`health   ${h.ok ? 'ok  ' : 'FAIL'} ${h.cmd}`);
  if (r.error) lines.push('', `error    ${r.error.code} at ${r.error.stage}: ${r.error.message}`);
  return lines.join('\n');
}
