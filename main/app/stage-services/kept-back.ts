// Kept-back sandbox-only paths (effective-map2.ts) as the review shows them: the ones with no clean merge
// are conflicts the operator decides, like drift ('host' keeps the host's version, 'sandbox' applies the
// upgrade's change to it).
import type { Conflict, KeptBack } from '../../core/workflow/run-types.ts';

export function keptBackConflicts(items: readonly KeptBack[]): Conflict[] {
  return items.filter((i) => i.outcome === 'conflict').map((i) => ({
    path: i.path,
    host: 'the host\'s own version differs from the sandbox\'s (a path understudy edits in the sandbox)',
    sandbox: `the upgrade changed it in the sandbox (${i.sandbox}); ${i.why ?? 'no clean merge into the host\'s version'}`,
    ...(i.hostDiff !== undefined ? { hostDiff: i.hostDiff } : {}),
    ...(i.sandboxDiff !== undefined ? { sandboxDiff: i.sandboxDiff } : {}),
  }));
}
