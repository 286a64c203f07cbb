// recover: finish or undo every interrupted transaction on the host (the agent's policy: commit when
// every step is done, otherwise undo all). Waits while another agent still holds the host's lock.
import { UnderstudyError } from '../../core/domain/errors.ts';
import { join } from 'node:path';
import type { SwapHost } from './swap-host.ts';
import { isBusy, withHostLock } from './host-lock.ts';

export interface Recovered { txid: string; result: 'committed' | 'rolled-back' | 'discarded' | 'needs-recovery' }

const BUSY = 75;

export async function recover(host: SwapHost, opts: { waitMs?: number; agentEnv?: Record<string, string> } = {}): Promise<Recovered[]> {
  const deadline = Date.now() + (opts.waitMs ?? 600_000);
  // no transaction ever started here: nothing to recover, and nothing is written next to the target
  if (!(await host.list(join(host.work, 'tx'))).length) return [];
  for (;;) {
    try { return await withHostLock(host, () => recoverHeld(host, deadline, opts.agentEnv)); } catch (e) {
      if (!isBusy(e) || Date.now() >= deadline) throw e;
      await new Promise((res) => setTimeout(res, 200));
    }
  }
}

async function recoverHeld(host: SwapHost, deadline: number, agentEnv?: Record<string, string>): Promise<Recovered[]> {
  await host.installAgent();
  for (;;) {
    const r = await host.agent(['recover', host.root, host.work, ...(host.kind === 'dir' ? [] : ['--unit'])], agentEnv);
    if (r.code === BUSY && Date.now() < deadline) { await new Promise((res) => setTimeout(res, 200)); continue; }
    const out = [...r.stdout.matchAll(/^recovered (\S+) (\S+)$/gm)].map((m) => ({ txid: m[1]!, result: m[2] as Recovered['result'] }));
    if (r.code !== 0) {
      throw new UnderstudyError('needs-recovery', `recovery on ${host.target} could not finish (agent exit ${r.code}): ${r.stderr.trim().slice(-500)}`, { recovered: out });
    }
    return out;
  }
}
