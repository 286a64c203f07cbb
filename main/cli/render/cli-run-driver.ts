// Drives one run from a CLI verb: shows its events, turns Ctrl-C into CANCEL, asks for approval at review
// on a TTY (or aborts with a clear reason when nobody can answer), prints the result, returns the exit code.
import { waitFor } from 'xstate';
import type { RunService } from '../../app/runs/run-service.ts';
import type { RunHandle } from '../../app/runs/runner.ts';
import type { VerbRuntime } from '../verb.ts';
import { askApproval } from './approval-prompt.ts';
import { printRunFinish } from './run-finish.ts';
import { runOutput } from './run-output.ts';

export interface DriveOptions {
  /** --yes: approve at review without asking (unresolved conflicts then end the run as conflict, exit 5). */
  yes?: boolean;
  stdin?: NodeJS.ReadStream;
  stderr?: NodeJS.WriteStream;
}

export async function driveRunFromCli(rt: VerbRuntime, svc: RunService, handle: RunHandle, opts: DriveOptions = {}): Promise<number> {
  const tty = { stdin: opts.stdin ?? process.stdin, stderr: opts.stderr ?? process.stderr, yes: opts.yes ?? false };
  const view = runOutput(rt.out, tty.stderr);
  const unsubscribe = svc.subscribe((e) => { if (e.run === handle.runId) view.listener(e); });
  const onAbort = () => { try { svc.cancel(handle.runId, 'interrupted (Ctrl-C)'); } catch { /* already finished */ } };
  rt.signal.addEventListener('abort', onAbort, { once: true });
  const review = reviewLoop(rt, svc, handle, tty);
  try {
    const f = await handle.finished;
    return printRunFinish(rt.out, f);
  } finally {
    view.stop();
    unsubscribe();
    rt.signal.removeEventListener('abort', onAbort);
    review.stop();
  }
}

/** Answers the review state when it comes: TTY prompt, else abort (no one to ask; use --yes or the UI). */
function reviewLoop(rt: VerbRuntime, svc: RunService, handle: RunHandle, tty: { stdin: NodeJS.ReadStream; stderr: NodeJS.WriteStream; yes: boolean }) {
  const ac = new AbortController();
  const done = handle.finished.catch(() => undefined);
  void (async () => {
    const s = await Promise.race([waitFor(handle.actor, (x) => x.value === 'review' || x.status !== 'active', { signal: ac.signal }).catch(() => undefined), done]);
    if (!s || !('value' in s) || s.value !== 'review' || ac.signal.aborted) return;
    if (tty.yes) {
      handle.send({ type: 'APPROVE' });
      return;
    }
    if (!tty.stdin.isTTY || rt.out.json) {
      svc.abort(handle.runId, 'approval needed: nobody to ask on a non-interactive terminal (use --yes, or approve in the UI)');
      return;
    }
    try {
      const a = await askApproval(s.context, tty.stdin, tty.stderr, AbortSignal.any([ac.signal, rt.signal]));
      if (a.approve) svc.approve(handle.runId, a.resolutions);
      else svc.abort(handle.runId, 'the operator declined the upgrade');
    } catch { /* interrupted: the CANCEL path handles it */ }
  })();
  return { stop: () => ac.abort() };
}
