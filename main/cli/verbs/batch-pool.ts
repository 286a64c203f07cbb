// The pool a batch spreads its sandboxes over (docs/pool.md), reached before any host starts.
import type { VerbRuntime } from '../verb.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { poolChoice, poolFor } from '../../app/stage-services/sandbox-pools.ts';
import type { MemberStatus } from '../../adapters/pool/sandbox-pool.ts';

export interface PoolUse { slots(): number; status(): MemberStatus[] }

/**
 * A named pool is reached before any host starts: each member's state is told (an unreachable one is
 * skipped), and none reachable is an error at once. Returns how many sandboxes the batch may run at once
 * (the members' capacity); a plain batch on this machine has no pool to open.
 */
export async function openPool(rt: VerbRuntime, adapterOptions: Record<string, unknown>, say: (text: string) => void): Promise<PoolUse | undefined> {
  if (poolChoice(adapterOptions).unbounded) return undefined;
  const pool = poolFor(adapterOptions, rt.store);
  const status = await pool.open(rt.signal);
  for (const m of status) {
    say(m.state === 'up' ? `pool member ${m.name} (${m.uri}): up, ${m.capacity} sandbox${m.capacity === 1 ? '' : 'es'} at once, ${m.images} image(s) cached`
      : `pool member ${m.name} (${m.uri}): unreachable, skipped: ${m.why ?? m.state}`);
  }
  if (!status.some((m) => m.state === 'up')) {
    throw new UnderstudyError('hypervisor', `no hypervisor of the pool can be reached: ${status.map((m) => `${m.name}: ${m.why ?? m.state}`).join('; ')}`);
  }
  return { slots: () => pool.capacity(), status: () => pool.status() };
}
