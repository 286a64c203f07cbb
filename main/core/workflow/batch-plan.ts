// Fleet scheduling, pure: which hosts to start next and when to stop.
//   canary: the first N hosts run first and must all pass; then the rest, `parallel` at a time;
//   once failures exceed max-fail (a count, or a percentage of the fleet) no new host starts: the ones
//   running finish (a swap is never interrupted by the scheduler), the rest are skipped.
//   A host whose sandbox's hypervisor (a pool member) was lost goes back to pending, once: its retry is
//   placed on another member (hostRequeued).
import { UnderstudyError } from '../domain/errors.ts';

export type MaxFail = { count: number } | { percent: number };
export interface BatchOptions { canary: number; parallel: number; maxFail: MaxFail }
export type HostStatus = 'pending' | 'running' | 'passed' | 'failed' | 'skipped';

export interface BatchState {
  options: BatchOptions;
  hosts: Array<{ target: string; status: HostStatus; outcome?: string; /** times put back in the queue */ retries?: number }>;
  /** Why the batch stopped starting hosts, once it did. */
  stopped?: string;
}

/** Parses --max-fail: "2" (hosts) or "25%" (of the fleet). */
export function parseMaxFail(text: string): MaxFail {
  const m = /^(\d+)(%?)$/.exec(text.trim());
  if (!m) throw new UnderstudyError('usage', `--max-fail takes a count or a percentage (e.g. 2 or 25%), not '${text}'`);
  const n = Number(m[1]);
  if (m[2]) {
    if (n > 100) throw new UnderstudyError('usage', `--max-fail ${text}: a percentage is at most 100%`);
    return { percent: n };
  }
  return { count: n };
}

export function newBatch(targets: string[], options: BatchOptions): BatchState {
  if (targets.length === 0) throw new UnderstudyError('usage', 'the fleet file lists no hosts');
  const dup = targets.find((t, i) => targets.indexOf(t) !== i);
  if (dup) throw new UnderstudyError('usage', `host ${dup} is listed twice in the fleet file`);
  if (!Number.isInteger(options.parallel) || options.parallel < 1) throw new UnderstudyError('usage', '--parallel must be at least 1');
  if (!Number.isInteger(options.canary) || options.canary < 0) throw new UnderstudyError('usage', '--canary must be 0 or more');
  return { options, hosts: targets.map((target) => ({ target, status: 'pending' })) };
}

/** How many failures the batch tolerates before it stops. */
export function failureBudget(s: BatchState): number {
  const m = s.options.maxFail;
  return 'count' in m ? m.count : Math.floor((m.percent / 100) * s.hosts.length);
}

const count = (s: BatchState, st: HostStatus) => s.hosts.filter((h) => h.status === st).length;

/** The canary hosts: the first N of the fleet file. */
export function canaryTargets(s: BatchState): string[] {
  return s.hosts.slice(0, Math.min(s.options.canary, s.hosts.length)).map((h) => h.target);
}

/**
 * Hosts to start now (and marks them running). Empty when waiting or finished. `slots`: how many may run at
 * once (default --parallel; a batch on a pool lets its rehearsals use the pool's capacity and holds only
 * the swaps to --parallel).
 */
export function startNext(s: BatchState, slots = s.options.parallel): { state: BatchState; start: string[] } {
  if (s.stopped) return { state: s, start: [] };
  const canaries = new Set(canaryTargets(s));
  const canaryOpen = s.hosts.some((h) => canaries.has(h.target) && (h.status === 'pending' || h.status === 'running'));
  const eligible = s.hosts.filter((h) => h.status === 'pending' && (!canaryOpen || canaries.has(h.target)));
  const room = Math.max(slots, s.options.parallel) - count(s, 'running');
  const start = eligible.slice(0, Math.max(0, room)).map((h) => h.target);
  const hosts = s.hosts.map((h) => start.includes(h.target) ? { ...h, status: 'running' as const } : h);
  return { state: { ...s, hosts }, start };
}

/** Records a host's end; stops the batch when a canary failed or failures exceed the budget. */
export function hostFinished(s: BatchState, target: string, ok: boolean, outcome?: string): BatchState {
  const hosts = s.hosts.map((h) => h.target === target ? { ...h, status: (ok ? 'passed' : 'failed') as HostStatus, ...(outcome ? { outcome } : {}) } : h);
  let next: BatchState = { ...s, hosts };
  if (!ok && !next.stopped) {
    const isCanary = canaryTargets(s).includes(target);
    const failures = count(next, 'failed');
    if (isCanary) next = stop(next, `canary ${target} failed${outcome ? ` (${outcome})` : ''}`);
    else if (failures > failureBudget(next)) next = stop(next, `${failures} hosts failed, more than --max-fail allows (${failureBudget(next)})`);
  }
  return next;
}

function stop(s: BatchState, why: string): BatchState {
  return { ...s, stopped: why, hosts: s.hosts.map((h) => h.status === 'pending' ? { ...h, status: 'skipped' as const } : h) };
}

export function batchDone(s: BatchState): boolean {
  return s.hosts.every((h) => h.status !== 'pending' && h.status !== 'running');
}

export function batchSummary(s: BatchState) {
  return {
    ok: !s.stopped && count(s, 'failed') === 0,
    passed: count(s, 'passed'), failed: count(s, 'failed'), skipped: count(s, 'skipped'),
    ...(s.stopped ? { stopped: s.stopped } : {}),
    hosts: s.hosts,
  };
}

/**
 * A running host whose run was cancelled because the batch itself was interrupted (Ctrl-C): it goes back
 * to pending, not failed, so resuming the batch starts it again and max-fail counts only real failures.
 */
export function hostInterrupted(s: BatchState, target: string): BatchState {
  return { ...s, hosts: s.hosts.map((h) => h.target === target && h.status === 'running' ? { target: h.target, status: 'pending' as const } : h) };
}

/** How often a host may go back to the queue after its hypervisor was lost ("at most once more"). */
export const MAX_REQUEUES = 1;

/** Whether a running host whose hypervisor was lost may be queued again. */
export function canRequeue(s: BatchState, target: string): boolean {
  const h = s.hosts.find((x) => x.target === target);
  return !s.stopped && h?.status === 'running' && (h.retries ?? 0) < MAX_REQUEUES;
}

/** A running host back to pending (its run failed because its hypervisor was lost), counted. */
export function hostRequeued(s: BatchState, target: string): BatchState {
  return { ...s, hosts: s.hosts.map((h) => h.target === target && h.status === 'running'
    ? { target: h.target, status: 'pending' as const, retries: (h.retries ?? 0) + 1 } : h) };
}
