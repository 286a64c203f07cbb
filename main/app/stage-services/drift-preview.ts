// The conflicts a swap would refuse, computed before review with the swap's own drift rules
// (computeDelta + host probe + classify), so the operator can choose per path. The host is only read.
import { computeDelta, parentKey } from '../../core/domain/swap-delta.ts';
import { classify } from '../../core/domain/swap-drift.ts';
import { indexByPath } from '../../core/domain/swap-entry.ts';
import type { Manifest } from '../../core/domain/manifest.ts';
import type { Conflict } from '../../core/workflow/run-types.ts';
import type { SwapHost } from '../../adapters/swap/swap-host.ts';

export async function previewConflicts(host: SwapHost, map1: Manifest, map2: Manifest): Promise<Conflict[]> {
  const m1 = indexByPath(map1), m2 = indexByPath(map2);
  const delta = computeDelta(map1, map2);
  const paths = new Set(delta.items.map((i) => i.path));
  for (const i of delta.items) { const p = parentKey(i.path); if (p !== null) paths.add(p); }
  const removedDirs = new Set(delta.items.filter((i) => !i.next && i.base?.type === 'dir').map((i) => i.path));
  const now = await host.probe({ paths: [...paths], expected: m1, listChildren: removedDirs });
  // merges that would apply cleanly are decided at swap time; a text file under etc/ that changed on
  // both sides is shown here as a conflict only if it does not merge (the swap re-checks)
  return classify(delta.items, now, m1, m2).flatMap((d) => d.kind === 'conflict' ? [d.conflict] : []);
}
