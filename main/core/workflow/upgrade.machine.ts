// The one engine behind `rehearse`, `upgrade`, the UI and `resume`.
//
//   preflight -> capturing -> building -> waiting for a hypervisor -> booting -> upgrading -> checking -> capturing2 -> rebooting -> releasing
//     rehearse: -> rehearsed
//     upgrade:  -> reconciling -> review (APPROVE | ABORT | --yes) -> swapping -> restarting -> health -> done
//   before the swap, any failure/CANCEL/ABORT -> cleaning-up (sandbox released) -> failed | check-failed |
//     conflict | cancelled | aborted
//   from the swap on, failure/CANCEL -> rolling-back -> rolled-back (health-failed) | failed | cancelled;
//     a rollback that fails, or a swap that reports needs-recovery -> needs-recovery
//
// `rebooting` comes after capturing2: it decides on the delta the swap will apply (the same rule as
// `--reboot auto`), reads the kernel the host will boot from map2 itself, and whatever the reboot writes
// cannot reach map2. When nothing that boots changed, it is skipped and says why.
//
// Stage work is done by named actors the app provides (machine.provide({ actors: makeStageActors(...) })).
// Guards decide on UnderstudyError.code only.
import { and, assign, fromPromise, not, setup } from 'xstate';
import { isUnderstudyError, UnderstudyError, type ErrorCode } from '../domain/errors.ts';
import type { StageActorInput } from './stage-actors.ts';
import { WAITING_STAGE, type ContextPatch, type Ending, type Resolution, type RunContext, type RunInput } from './run-types.ts';
import { closeTiming, failureFrom, openTiming, patchFromFailure } from './machine-helpers.ts';

export type MachineEvent =
  | { type: 'APPROVE'; resolutions?: Record<string, Resolution> }
  | { type: 'ABORT'; reason?: string }
  | { type: 'CANCEL'; reason?: string };

const slot = (name: string) => fromPromise<ContextPatch, StageActorInput>(async () => {
  throw new UnderstudyError('internal', `workflow: stage actor '${name}' was not provided`);
});

const errorOf = (event: unknown): unknown => (event as { error?: unknown }).error;
const codeOf = (event: unknown): string | undefined => {
  const e = errorOf(event);
  return isUnderstudyError(e) ? e.code : undefined;
};

export const upgradeMachine = setup({
  types: {
    context: {} as RunContext,
    events: {} as MachineEvent,
    input: {} as RunInput,
  },
  actors: {
    preflight: slot('preflight'), captureHost: slot('captureHost'), buildImage: slot('buildImage'),
    placeSandbox: slot('placeSandbox'), bootSandbox: slot('bootSandbox'), runUpgrade: slot('runUpgrade'), runChecks: slot('runChecks'),
    captureSandbox: slot('captureSandbox'), rehearseReboot: slot('rehearseReboot'), releaseSandbox: slot('releaseSandbox'), findConflicts: slot('findConflicts'),
    swap: slot('swap'), restart: slot('restart'), checkHealth: slot('checkHealth'), rollback: slot('rollback'),
  },
  guards: {
    hasCode: ({ event }, p: { code: ErrorCode }) => codeOf(event) === p.code,
    isRehearsal: ({ context }) => context.input.kind === 'rehearse',
    autoApprove: ({ context }) => context.input.yes,
    hasConflicts: ({ context }) => (context.conflicts?.length ?? 0) > 0,
    resolvesAll: ({ context, event }) => {
      const chosen = event.type === 'APPROVE' ? event.resolutions ?? {} : {};
      return (context.conflicts ?? []).every((c) => chosen[c.path] === 'host' || chosen[c.path] === 'sandbox');
    },
    endingIs: ({ context }, p: { ending: Ending }) => context.ending === p.ending,
  },
  actions: {
    stageStarted: assign(({ context }, p: { stage: string }) => ({ timings: openTiming(context.timings, p.stage) })),
    stageDone: assign(({ context, event }, p: { stage: string }) => ({
      ...((event as { output?: ContextPatch }).output ?? {}),
      timings: closeTiming(context.timings, p.stage),
    })),
    stageFailed: assign(({ context, event }, p: { stage: string; ending?: Ending }) => {
      const error = failureFrom(p.stage, errorOf(event));
      const ending: Ending = p.ending ?? endingFor(error.code, context.hostTouched === true);
      return { ...patchFromFailure(errorOf(event)), error, ending, timings: closeTiming(context.timings, p.stage) };
    }),
    stopped: assign(({ context, event }, p: { stage: string; ending: 'cancelled' | 'aborted' | 'conflict' }) => {
      const reason = event.type === 'CANCEL' || event.type === 'ABORT' ? event.reason : undefined;
      const message = p.ending === 'conflict' ? 'the host drifted on paths the swap would write; nothing was changed'
        : reason ?? (p.ending === 'aborted' ? 'the operator declined the upgrade' : 'cancelled by the operator');
      const code = p.ending === 'aborted' ? 'cancelled' : p.ending;
      return { ending: p.ending, error: { stage: p.stage, code, message }, timings: closeTiming(context.timings, p.stage) };
    }),
    keepResolutions: assign(({ event }) => ({ resolutions: event.type === 'APPROVE' ? event.resolutions ?? {} : {} })),
    markHostTouched: assign({ hostTouched: true }),
    noteCleanupError: assign(({ context, event }) => ({
      timings: closeTiming(context.timings, 'cleaning-up'),
      cleanupError: failureFrom('cleaning-up', errorOf(event)).message,
    } as Partial<RunContext>)),
  },
}).createMachine({
  id: 'upgrade',
  context: ({ input }) => ({ input, timings: {} }),
  initial: 'preflight',
  states: {
    preflight: stageState('preflight', 'preflight', 'capturing'),
    capturing: stageState('capturing', 'captureHost', 'building'),
    building: stageState('building', 'buildImage', WAITING_STAGE),
    [WAITING_STAGE]: stageState(WAITING_STAGE, 'placeSandbox', 'booting'),
    booting: stageState('booting', 'bootSandbox', 'upgrading'),
    upgrading: stageState('upgrading', 'runUpgrade', 'checking'),
    checking: stageState('checking', 'runChecks', 'capturing2'),
    capturing2: stageState('capturing2', 'captureSandbox', 'rebooting'),
    rebooting: stageState('rebooting', 'rehearseReboot', 'releasing'),
    releasing: {
      entry: { type: 'stageStarted', params: { stage: 'releasing' } },
      invoke: {
        id: 'releaseSandbox', src: 'releaseSandbox', input: ({ context }) => ({ context }),
        onDone: [
          { guard: 'isRehearsal', target: 'rehearsed', actions: { type: 'stageDone', params: { stage: 'releasing' } } },
          { target: 'reconciling', actions: { type: 'stageDone', params: { stage: 'releasing' } } },
        ],
        onError: { target: 'cleaning-up', actions: { type: 'stageFailed', params: { stage: 'releasing' } } },
      },
      on: { CANCEL: { target: 'cleaning-up', actions: { type: 'stopped', params: { stage: 'releasing', ending: 'cancelled' } } } },
    },
    reconciling: stageState('reconciling', 'findConflicts', 'review'),
    review: {
      entry: { type: 'stageStarted', params: { stage: 'review' } },
      always: [
        { guard: and(['autoApprove', 'hasConflicts']), target: 'cleaning-up',
          actions: { type: 'stopped', params: { stage: 'review', ending: 'conflict' } } },
        { guard: 'autoApprove', target: 'swapping', actions: { type: 'stageDone', params: { stage: 'review' } } },
      ],
      on: {
        APPROVE: [
          { guard: not('resolvesAll'), target: 'cleaning-up', actions: { type: 'stopped', params: { stage: 'review', ending: 'conflict' } } },
          { target: 'swapping', actions: ['keepResolutions', { type: 'stageDone', params: { stage: 'review' } }] },
        ],
        ABORT: { target: 'cleaning-up', actions: { type: 'stopped', params: { stage: 'review', ending: 'aborted' } } },
        CANCEL: { target: 'cleaning-up', actions: { type: 'stopped', params: { stage: 'review', ending: 'cancelled' } } },
      },
    },
    swapping: {
      entry: [{ type: 'stageStarted', params: { stage: 'swapping' } }, 'markHostTouched'],
      invoke: {
        id: 'swap', src: 'swap', input: ({ context }) => ({ context }),
        onDone: { target: 'restarting', actions: { type: 'stageDone', params: { stage: 'swapping' } } },
        onError: [
          { guard: { type: 'hasCode', params: { code: 'needs-recovery' } }, target: 'needs-recovery',
            actions: { type: 'stageFailed', params: { stage: 'swapping' } } },
          // The swap checks drift before writing anything: a conflict leaves the host untouched.
          { guard: { type: 'hasCode', params: { code: 'conflict' } }, target: 'cleaning-up',
            actions: { type: 'stageFailed', params: { stage: 'swapping', ending: 'conflict' } } },
          { target: 'rolling-back', actions: { type: 'stageFailed', params: { stage: 'swapping' } } },
        ],
      },
      on: { CANCEL: { target: 'rolling-back', actions: { type: 'stopped', params: { stage: 'swapping', ending: 'cancelled' } } } },
    },
    restarting: stageState('restarting', 'restart', 'health', 'rolling-back'),
    health: stageState('health', 'checkHealth', 'done', 'rolling-back'),
    'rolling-back': {
      entry: { type: 'stageStarted', params: { stage: 'rolling-back' } },
      invoke: {
        id: 'rollback', src: 'rollback', input: ({ context }) => ({ context }),
        onDone: { target: 'finishing', actions: { type: 'stageDone', params: { stage: 'rolling-back' } } },
        onError: { target: 'needs-recovery', actions: { type: 'stageFailed', params: { stage: 'rolling-back', ending: 'failed' } } },
      },
      // No CANCEL here: rollback is the safe path and must finish.
    },
    'cleaning-up': {
      entry: { type: 'stageStarted', params: { stage: 'cleaning-up' } },
      invoke: {
        id: 'releaseSandbox', src: 'releaseSandbox', input: ({ context }) => ({ context }),
        onDone: { target: 'finishing', actions: { type: 'stageDone', params: { stage: 'cleaning-up' } } },
        onError: { target: 'finishing', actions: 'noteCleanupError' },
      },
      // No CANCEL here: cleanup is where cancel leads.
    },
    finishing: {
      always: [
        { guard: { type: 'endingIs', params: { ending: 'cancelled' } }, target: 'cancelled' },
        { guard: { type: 'endingIs', params: { ending: 'aborted' } }, target: 'aborted' },
        { guard: { type: 'endingIs', params: { ending: 'check-failed' } }, target: 'check-failed' },
        { guard: { type: 'endingIs', params: { ending: 'conflict' } }, target: 'conflict' },
        { guard: { type: 'endingIs', params: { ending: 'rolled-back' } }, target: 'rolled-back' },
        { target: 'failed' },
      ],
    },
    done: { type: 'final' },
    rehearsed: { type: 'final' },
    'check-failed': { type: 'final' },
    conflict: { type: 'final' },
    'rolled-back': { type: 'final' },
    'needs-recovery': { type: 'final' },
    failed: { type: 'final' },
    cancelled: { type: 'final' },
    aborted: { type: 'final' },
  },
});

/** Where a failure leads. Exit 6 (rolled-back) only once the host was touched; 4 and 5 only before. */
function endingFor(code: string, hostTouched: boolean): Ending {
  if (hostTouched) return code === 'health-failed' ? 'rolled-back' : 'failed';
  if (code === 'check-failed') return 'check-failed';
  if (code === 'conflict') return 'conflict';
  return 'failed';
}

type Src = 'preflight' | 'captureHost' | 'buildImage' | 'placeSandbox' | 'bootSandbox' | 'runUpgrade' | 'runChecks' | 'captureSandbox'
  | 'rehearseReboot' | 'findConflicts' | 'restart' | 'checkHealth';

/**
 * A stage's state: its actor's result moves on to `next`; failure and CANCEL go to `onStop`: cleanup
 * (sandbox teardown) before the swap, rollback from the swap on, since then the host has changed.
 */
function stageState<S extends string, A extends Src, T extends string, F extends 'cleaning-up' | 'rolling-back' = 'cleaning-up'>(
  stage: S, src: A, next: T, onStop: F = 'cleaning-up' as F) {
  return {
    entry: { type: 'stageStarted', params: { stage } },
    invoke: {
      id: src as string, src, input: ({ context }: { context: RunContext }) => ({ context }),
      onDone: { target: next, actions: { type: 'stageDone', params: { stage } } },
      onError: { target: onStop, actions: { type: 'stageFailed', params: { stage } } },
    },
    on: { CANCEL: { target: onStop, actions: { type: 'stopped', params: { stage, ending: 'cancelled' } } } },
  } as const;
}

export type UpgradeMachine = typeof upgradeMachine;
