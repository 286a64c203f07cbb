// Small status marks used across screens: run status/outcome, verdicts, stage states.
import type { RunSummary, Verdict } from '../../../main/contract/index.ts';

const outcomeTone: Record<string, string> = {
  upgraded: 'good', rehearsed: 'good', done: 'good', 'rolled-back': 'warn', 'check-failed': 'bad', conflict: 'warn',
  failed: 'bad', 'needs-recovery': 'bad', cancelled: 'muted', aborted: 'muted', running: 'info', review: 'attention', interrupted: 'warn',
};

export function RunBadge({ run }: { run: Pick<RunSummary, 'status' | 'outcome' | 'kind'> }) {
  const label = run.outcome ?? run.status;
  // A rollback run that rolled back did what it was asked: good, not a warning.
  const tone = run.kind === 'rollback' && label === 'rolled-back' ? 'good' : outcomeTone[label] ?? outcomeTone[run.status] ?? 'muted';
  return <span className={`badge tone-${tone}`}>{label}</span>;
}

const verdictTone: Record<Verdict, string> = { ok: 'good', warn: 'warn', fail: 'bad', unknown: 'muted' };
const verdictLabel: Record<Verdict, string> = { ok: 'protected', warn: 'at risk', fail: 'unprotected', unknown: 'not assessed' };

/** `assessed`: an unknown overall verdict then means "some facts could not be gathered", not "never asked". */
export function VerdictBadge({ verdict, plain, assessed }: { verdict: Verdict; plain?: boolean; assessed?: boolean }) {
  const label = plain ? verdict : verdict === 'unknown' && assessed ? 'incomplete' : verdictLabel[verdict];
  return <span className={`badge tone-${verdictTone[verdict]}`}>{label}</span>;
}

export const stageGlyph: Record<string, string> = {
  pending: '○', active: '◐', done: '●', failed: '✕', skipped: '–', cancelled: '⊘',
};
