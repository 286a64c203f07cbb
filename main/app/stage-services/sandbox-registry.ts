// Live sandboxes of this process, by an id unique to each sandbox (never reused, never a run id), with
// the run that owns it: several runs (a batch, the server) hold sandboxes at once, and a stage may only
// use its own run's. The workflow carries the id in its (JSON) context; a run resumed in another process
// finds none, since its sandbox died with the old process.
import { randomBytes } from 'node:crypto';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { Sandbox } from '../../adapters/sandbox/sandbox-vm.ts';

interface Held { runId: string; sandbox: Sandbox }

const live = new Map<string, Held>();

/** Registers a run's new sandbox; returns its id. */
export function registerSandbox(runId: string, sandbox: Sandbox): string {
  let id;
  do id = `sb-${randomBytes(6).toString('hex')}`; while (live.has(id));
  live.set(id, { runId, sandbox });
  return id;
}

/** The live sandbox `id` of run `runId`. */
export function sandboxFor(id: string, runId: string): Sandbox {
  const h = live.get(id);
  if (!h) throw new UnderstudyError('hypervisor', `sandbox ${id} is gone (the orchestrator was restarted)`);
  if (h.runId !== runId) throw new UnderstudyError('internal', `sandbox ${id} belongs to run ${h.runId}, not to run ${runId}`);
  return h.sandbox;
}

export const sandboxLive = (id: string): boolean => live.has(id);

/** Stops and removes one sandbox (a no-op when it is not live here). */
export async function releaseSandbox(id: string, timeoutMs: number): Promise<void> {
  const h = live.get(id);
  if (!h) return;
  live.delete(id);
  await h.sandbox.close(timeoutMs);
}

/** Stops every sandbox a run still holds; returns their ids. */
export async function releaseRunSandboxes(runId: string, timeoutMs: number): Promise<string[]> {
  const ids = [...live].filter(([, h]) => h.runId === runId).map(([id]) => id);
  await Promise.all(ids.map((id) => releaseSandbox(id, timeoutMs)));
  return ids;
}

/** Sandboxes live in this process, with their runs (tests and leak reports). */
export function liveSandboxes(): Array<{ id: string; runId: string }> {
  return [...live].map(([id, h]) => ({ id, runId: h.runId }));
}
