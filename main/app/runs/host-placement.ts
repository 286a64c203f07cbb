// A batch host's placement on the pool, as its report gives it: where its sandbox ran, how long it waited
// for a hypervisor and how long the rehearsal took (docs/pool.md, "In a batch").
import type { RunResult } from '../../core/workflow/run-result.ts';
import type { RequeuedAttempt } from '../run-store/batch-store.ts';
import { WAITING_STAGE } from '../../core/workflow/run-types.ts';

export interface HostPlacement {
  /** The pool member that rehearsed it (for a follower: the owner's), how long it waited for one, and how
   *  long the rehearsal took (booting to releasing). */
  member?: string; waitSeconds?: number; rehearsalSeconds?: number; sharedRehearsal?: boolean;
  /** Earlier attempts that were put back in the queue (their hypervisor was lost). */
  requeued?: RequeuedAttempt[];
}

const REHEARSAL_STAGES = ['booting', 'upgrading', 'checking', 'capturing2', 'rebooting', 'releasing'];

/** Where and how long, from a run's result (nothing when it never got a placement). */
export function placementOf(r: RunResult | undefined): Omit<HostPlacement, 'requeued'> {
  if (!r?.placement) return {};
  const rehearsal = REHEARSAL_STAGES.reduce((n, s) => n + (r.timings[s] ?? 0), 0);
  return {
    member: r.placement.member, waitSeconds: r.timings[WAITING_STAGE] ?? r.placement.waitedSeconds,
    ...(r.placement.shared ? { sharedRehearsal: true } : { rehearsalSeconds: Math.round(rehearsal * 10) / 10 }),
  };
}
