// The conflicts a swap would refuse, computed before review by the swap's own planner (delta, host probe,
// drift rules, /etc 3-way merges), so the operator can choose per path. The host is only read.
import type { Manifest } from '../../core/domain/manifest.ts';
import type { Conflict } from '../../core/workflow/run-types.ts';
import type { SwapHost } from '../../adapters/swap/swap-host.ts';
import { planSwap } from '../../adapters/swap/swap.ts';

export async function previewConflicts(host: SwapHost, store: string, map1: Manifest, map2: Manifest): Promise<Conflict[]> {
  return (await planSwap(host, store, map1, map2)).conflicts;
}
