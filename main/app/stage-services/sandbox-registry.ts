// Live sandboxes of this process, by the id the workflow carries in its (JSON) context. A run resumed in
// another process finds none: its sandbox died with the old process, and the stage says so.
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { Sandbox } from '../../adapters/sandbox/sandbox-vm.ts';

const live = new Map<string, Sandbox>();

export function registerSandbox(id: string, s: Sandbox): void { live.set(id, s); }

export function sandboxFor(id: string): Sandbox {
  const s = live.get(id);
  if (!s) throw new UnderstudyError('hypervisor', `sandbox ${id} is gone (the orchestrator was restarted); start the run again`);
  return s;
}

export async function releaseSandboxById(id: string, timeoutMs: number): Promise<void> {
  const s = live.get(id);
  if (!s) return;
  live.delete(id);
  await s.close(timeoutMs);
}

export function liveSandboxCount(): number { return live.size; }
