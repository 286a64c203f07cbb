// Where a resumed run continues, decided on its saved snapshot (pure; runner.ts applies it).
//
// A stage whose results lived only in the dead orchestrator cannot be re-entered: a sandbox dies with
// the process that ran it (QEMU by parent-death signal; a libvirt domain is destroyed by the next boot).
// Such a run rewinds to the earliest stage that rebuilds what is gone:
//   - interrupted in a sandbox stage (SANDBOX_STAGES) -> booting: a new sandbox from the cached image of
//     map1, then the upgrade and the checks again;
//   - a follower of a batch's shared rehearsal, interrupted while it used the owner's result -> building,
//     where it joins the batch's rehearsal again (or rehearses itself);
//   - anything else re-enters the interrupted stage (every stage is idempotent; releasing finds nothing
//     left to release; from the swap on, the host's journal decides).
// Every resume opens a new attempt of the stage it enters (the killed attempt's times are kept) and is
// recorded in the context (`resumes`), which the result, `show` and the UI report.
import { WAITING_STAGE, type ResumeNote, type RunContext } from './run-types.ts';
import { openTiming } from './machine-helpers.ts';
import { SHARED_PREFIX } from './shared-rehearsal.ts';

/** Stages that need the live sandbox. A stage added between booting and releasing belongs here. */
export const SANDBOX_STAGES: string[] = ['booting', 'upgrading', 'checking', 'capturing2', 'rebooting'];

/** The actor each rewind target invokes (the state's invoke id and src, see upgrade.machine.ts). */
const STAGE_ACTOR: Record<string, string> = { building: 'buildImage', booting: 'bootSandbox' };

/** Context fields produced by the stages from `stage` on, which a rewind to it drops. */
const PRODUCED_FROM: Record<string, Array<keyof RunContext>> = {
  booting: ['hypervisor', 'accel', 'packages', 'checks', 'map2', 'delta', 'reboot'],
  building: ['image', 'shared', 'placement', 'sandbox', 'hypervisor', 'accel', 'packages', 'checks', 'map2', 'delta', 'reboot'],
};

export interface ResumePoint { stage: string; rewoundFrom?: string; why?: string }

const isFollower = (c: RunContext) => Boolean(c.image?.startsWith(SHARED_PREFIX) || c.sandbox?.id.startsWith(SHARED_PREFIX));

export function resumePoint(state: string, context: RunContext): ResumePoint {
  // a follower takes no slot of the pool: interrupted while it passed 'waiting for a hypervisor', it joins
  // the batch's rehearsal again where followers join it
  if (state === WAITING_STAGE && isFollower(context)) return { stage: 'building', rewoundFrom: state, why: 'the shared rehearsal it followed is gone' };
  if (!SANDBOX_STAGES.includes(state)) return { stage: state };
  if (isFollower(context)) return { stage: 'building', rewoundFrom: state, why: 'the shared rehearsal it followed is gone' };
  return { stage: 'booting', rewoundFrom: state, why: 'sandbox gone' };
}

/** One line for the run's log and `show`. */
export function describeResume(n: ResumeNote): string {
  if (n.from === n.to) return `resumed at ${n.to}${n.why ? ` (${n.why})` : ''}`;
  return `resumed: rewound from ${n.from} to ${n.to}${n.why ? ` (${n.why})` : ''}`;
}

/** The xstate persisted snapshot fields this module reads and writes. */
export interface PersistedRun {
  value: unknown;
  context: RunContext;
  children?: Record<string, { snapshot?: { status?: string; input?: unknown; output?: unknown; error?: unknown }; src?: unknown; syncSnapshot?: boolean }>;
  [k: string]: unknown;
}

/**
 * The snapshot a resumed run starts from: at the resume point, with a new attempt of that stage opened and
 * the resume noted. Its stage actor runs again from the start: a child whose completion was saved before
 * the parent processed it would never report again, so it is set back to active too.
 */
export function resumeSnapshot(s: PersistedRun, at: Date = new Date()): { snapshot: PersistedRun; note: ResumeNote } {
  const state = String(s.value);
  const point = resumePoint(state, s.context);
  const note: ResumeNote = { at: at.toISOString(), from: state, to: point.stage, ...(point.why ? { why: point.why } : {}) };
  let context: RunContext = { ...s.context, resumes: [...(s.context.resumes ?? []), note] };
  // a stage that was running gets a new attempt; the killed one keeps its start (and no end)
  const running = (stage: string) => context.timings[stage] && context.timings[stage]!.seconds === undefined;
  if (point.rewoundFrom) {
    for (const k of PRODUCED_FROM[point.stage] ?? []) delete context[k];
    context = { ...context, timings: openTiming(context.timings, point.stage, at) };
    const src = STAGE_ACTOR[point.stage]!;
    const child = { snapshot: { status: 'active', input: { context } }, src, syncSnapshot: false };
    return { snapshot: { ...s, value: point.stage, context, children: { [src]: child } }, note };
  }
  if (running(state)) context = { ...context, timings: openTiming(context.timings, state, at) };
  const children = Object.fromEntries(Object.entries(s.children ?? {}).map(([id, c]) => {
    if (!c.snapshot || c.snapshot.status === 'active') return [id, c];
    const { output: _o, error: _e, ...rest } = c.snapshot;
    return [id, { ...c, snapshot: { ...rest, status: 'active' } }];
  }));
  return { snapshot: { ...s, context, children }, note };
}
