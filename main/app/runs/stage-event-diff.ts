// Derives 'stage' RunEvents from two consecutive contexts' timings: a stage whose start changed became
// active; one whose duration appeared finished (failed/cancelled when the run's error names it).
// Works from timings rather than state values so stages passed within one step (review with --yes) show.
import type { RunEvent, StageState } from '../../core/domain/events.ts';
import type { RunContext } from '../../core/workflow/run-types.ts';
import { skippedStageNote } from '../../core/workflow/reboot-rehearsal.ts';

export function stageEvents(prev: RunContext | undefined, next: RunContext, now = new Date()): RunEvent[] {
  const out: RunEvent[] = [];
  const run = next.input.runId;
  const at = now.toISOString();
  for (const [stage, t] of Object.entries(next.timings)) {
    const before = prev?.timings[stage];
    const restarted = !before || before.startedAt !== t.startedAt;
    if (restarted) out.push({ type: 'stage', run, stage, state: 'active', at });
    if (t.seconds !== undefined && (restarted || before?.seconds === undefined)) {
      const failedHere = next.error?.stage === stage && prev?.error?.stage !== stage;
      const note = failedHere ? undefined : skippedStageNote(next, stage);
      const state: StageState = failedHere ? (next.error?.code === 'cancelled' ? 'cancelled' : 'failed') : note ? 'skipped' : 'done';
      out.push({
        type: 'stage', run, stage, state, at, seconds: t.seconds,
        ...(failedHere && next.error ? { error: { code: next.error.code, message: next.error.message } } : {}),
        ...(note ? { note } : {}),
      });
    }
  }
  return out;
}
