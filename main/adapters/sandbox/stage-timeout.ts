// Runs one stage with its own AbortSignal that fires on the stage's timeout or on the caller's signal
// (Ctrl-C). After it fires, the stage gets a grace period to clean up what it started (a VM, a temp dir)
// before the timeout/cancel error is thrown: a stage that ignores its signal still cannot hang the run.
import { UnderstudyError } from '../../core/domain/errors.ts';

export const CLEANUP_GRACE_MS = 30_000;

/** Each rehearsal stage's limit (a boot timeout shows the sandbox's last serial-console lines). */
export const STAGE_TIMEOUTS_MS = {
  capture: 30 * 60_000, build: 20 * 60_000, boot: 6 * 60_000, upgrade: 30 * 60_000, check: 10 * 60_000,
  capture2: 20 * 60_000, shutdown: 60_000,
};

export async function withStageTimeout<T>(name: string, ms: number, outer: AbortSignal | undefined,
  fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<UnderstudyError>((resolve) => {
    onAbort = () => resolve(new UnderstudyError('cancelled', `${name}: cancelled`));
    if (outer?.aborted) return onAbort();
    outer?.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(() => resolve(new UnderstudyError('timeout', `${name} did not finish within ${Math.round(ms / 1000)} s`,
      { pending: pendingWork() })), ms);
  });
  const work = fn(ac.signal);
  try {
    const first = await Promise.race([work.then((v) => ({ v })), stopped.then((err) => ({ err }))]);
    if ('v' in first) return first.v;
    ac.abort(first.err);
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([work.catch(() => undefined), new Promise((r) => { grace = setTimeout(r, CLEANUP_GRACE_MS); })]);
    clearTimeout(grace);
    throw first.err;
  } finally {
    clearTimeout(timer);
    if (onAbort) outer?.removeEventListener('abort', onAbort);
  }
}

/** What the process was still waiting for when a stage timed out (e.g. {"FSReqPromise":1,"TCPSocketWrap":2}):
 *  kept in the error's details so a stuck stage can be diagnosed from the run's record. */
function pendingWork(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}
