// Pure mapping from what the run store keeps (record, machine context, stored events) to the contract's
// RunSummary / RunDetail: stage list with states, review evidence, expected disruption, status.
import type { Review, RunDetail, RunEvent, RunStatus, RunSummary, StageInfo } from '../contract/index.ts';
import { WAITING_STAGE, type RunContext } from '../core/workflow/run-types.ts';
import { bootChanges } from '../core/domain/boot-changes.ts';
import { rebootSummary, skippedStageNote } from '../core/workflow/reboot-rehearsal.ts';
import { describeResume } from '../core/workflow/resume-plan.ts';
import { keptBackView } from '../core/workflow/run-result.ts';

export const REHEARSE_STAGES = ['preflight', 'capturing', 'building', WAITING_STAGE, 'booting', 'upgrading', 'checking', 'capturing2', 'rebooting', 'releasing'];
export const UPGRADE_STAGES = [...REHEARSE_STAGES, 'reconciling', 'review', 'swapping', 'restarting', 'health'];
export const ROLLBACK_STAGES = ['rolling-back'];

export interface RunRecordLike {
  id: string; verb: string; target: string; state: string; outcome?: string; createdAt: string; updatedAt: string;
  input: Record<string, unknown>;
}

const FINAL_STATUS: Record<string, RunStatus> = {
  upgraded: 'done', rehearsed: 'done', 'rolled-back': 'done', cancelled: 'cancelled', aborted: 'aborted',
  'needs-recovery': 'needs-recovery',
};

export function statusOf(rec: RunRecordLike, live: boolean): RunStatus {
  if (rec.outcome) return FINAL_STATUS[rec.outcome] ?? 'failed';
  if (!live) return 'interrupted';
  return rec.state === 'review' ? 'review' : 'running';
}

export function summaryOf(rec: RunRecordLike, live: boolean): RunSummary {
  const kind = rec.verb === 'rollback' || rec.verb === 'upgrade' ? rec.verb : 'rehearse';
  const rollbackOf = typeof rec.input.rollbackOf === 'string' ? rec.input.rollbackOf : undefined;
  const status = statusOf(rec, live);
  return {
    id: rec.id, kind, target: rec.target, status, startedAt: rec.createdAt,
    ...(rec.outcome ? { outcome: rec.outcome, endedAt: rec.updatedAt } : {}),
    ...(status === 'running' || status === 'review' || status === 'interrupted' ? { stage: rec.state } : {}),
    ...(rollbackOf ? { rollbackOf } : {}),
  };
}

/** Stages in machine order; extra stages the run went through (cleaning-up, rolling-back) follow. */
export function stagesOf(kind: string, ctx: Pick<RunContext, 'timings' | 'error' | 'reboot'> | undefined, finished: boolean): StageInfo[] {
  const timings = ctx?.timings ?? {};
  const order = kind === 'upgrade' ? UPGRADE_STAGES : kind === 'rollback' ? ROLLBACK_STAGES : REHEARSE_STAGES;
  const names = [...order, ...Object.keys(timings).filter((n) => !order.includes(n))];
  return names.map((name): StageInfo => {
    const t = timings[name];
    const err = ctx?.error?.stage === name ? ctx.error : undefined;
    if (!t) return { name, state: finished ? 'skipped' : 'pending' };
    const base = { name, startedAt: t.startedAt, ...(t.seconds !== undefined ? { seconds: t.seconds } : {}), ...(t.attempts > 1 ? { attempt: t.attempts } : {}) };
    if (err) return { ...base, state: err.code === 'cancelled' ? 'cancelled' : 'failed', error: { code: err.code, message: err.message } };
    if (t.seconds === undefined) return { ...base, state: finished ? 'failed' : 'active' };
    const note = ctx && skippedStageNote(ctx, name);
    return note ? { ...base, state: 'skipped', note } : { ...base, state: 'done' };
  });
}

const UNIT_FILE = /(?:^|\/)(?:usr\/)?lib\/systemd\/system\/([^/]+)\.service$|^etc\/systemd\/system\/([^/]+)\.service$/;

/** What the swap is expected to disrupt: the restart stage's actual result once it ran, else a prediction. */
export function disruptionOf(ctx: RunContext): Review['disruption'] {
  if (ctx.restart) return { restart: ctx.restart.restarted, reboot: ctx.restart.rebooted, reason: 'as it happened' };
  if (ctx.input.target.startsWith('dir:')) return { restart: [], reboot: false, reason: 'dir: target: nothing runs there' };
  const paths = [...(ctx.delta?.added ?? []), ...(ctx.delta?.changed ?? []), ...(ctx.delta?.removed ?? [])].map((p) => p.replace(/^\//, ''));
  // the rule the restart stage applies (core/domain/boot-changes.ts tier 'reboot')
  const reboot = ctx.input.reboot === 'always'
    || (ctx.input.reboot !== 'never' && bootChanges({ added: ctx.delta?.added, changed: ctx.delta?.changed }).rebootPaths.length > 0);
  const units = new Set<string>();
  for (const p of paths) { const m = UNIT_FILE.exec(p); if (m) units.add(m[1] ?? m[2]!); }
  const upgraded = new Set((ctx.packages?.upgraded ?? []).map((p) => p.name));
  for (const p of paths) { const m = /^(?:usr\/)?s?bin\/([^/]+)$/.exec(p); if (m && upgraded.has(m[1]!)) units.add(m[1]!); }
  return { restart: [...units].sort(), reboot, reason: 'expected, from the changed files' };
}

export function reviewOf(ctx: RunContext | undefined): Review | undefined {
  if (!ctx?.delta && !ctx?.packages && !ctx?.checks && !ctx?.network) return undefined;
  return {
    packages: ctx.packages ?? { upgraded: [], installed: [], removed: [] },
    files: ctx.delta ?? { added: [], changed: [], removed: [] },
    ...(ctx.delta ? {} : { partial: true }),
    conflicts: ctx.conflicts ?? [],
    ...(ctx.keptBack?.length ? { keptBack: keptBackView(ctx.keptBack) } : {}),
    checks: (ctx.checks ?? []).map((c) => ({ cmd: c.cmd, ok: c.ok, exitCode: c.exitCode, ...(c.output ? { output: c.output } : {}) })),
    disruption: disruptionOf(ctx),
    ...(ctx.reboot ? {
      reboot: {
        rehearsed: ctx.reboot.rehearsed, summary: rebootSummary(ctx.reboot),
        ...(ctx.reboot.ok !== undefined ? { ok: ctx.reboot.ok } : {}),
        ...(ctx.reboot.kernel ? { kernel: `${ctx.reboot.kernel.path}: ${ctx.reboot.kernel.chosenBy}` } : {}),
        ...(ctx.reboot.failedUnits?.length ? { failedUnits: ctx.reboot.failedUnits } : {}),
        ...(ctx.reboot.consoleTail ? { consoleTail: ctx.reboot.consoleTail } : {}),
      },
    } : {}),
    ...(ctx.network ? { network: ctx.network } : {}),
  };
}

export function detailOf(rec: RunRecordLike, ctx: RunContext | undefined, live: boolean,
  logs: Array<Extract<RunEvent, { type: 'log' }>>, canRollback: boolean): RunDetail {
  const summary = summaryOf(rec, live);
  const finished = summary.status !== 'running' && summary.status !== 'review';
  const timings: Record<string, number> = {};
  for (const [k, t] of Object.entries(ctx?.timings ?? {})) if (t.seconds !== undefined) timings[k] = t.seconds;
  const input = rec.input;
  const review = reviewOf(ctx);
  return {
    ...summary,
    request: {
      target: rec.target,
      ...(typeof input.command === 'string' ? { run: input.command } : {}),
      ...(Array.isArray(input.checks) ? { checks: input.checks as string[] } : {}),
      ...(Array.isArray(input.health) ? { health: input.health as string[] } : {}),
    },
    stages: stagesOf(summary.kind, ctx, finished),
    logs,
    ...(review ? { review } : {}),
    timings,
    ...(ctx?.error ? { error: { code: ctx.error.code, message: ctx.error.message } } : {}),
    canRollback,
    resumes: (ctx?.resumes ?? []).map((n) => ({ ...n, text: describeResume(n) })),
  };
}
