// Pure text of what became of the sandbox-only paths a run changed (review, the finished run, `show`):
// merged into the host's version, a conflict the operator decides, the host's identity kept, runtime state.
import type { KeptBack } from '../../core/workflow/run-types.ts';
import { displayKey } from '../../core/domain/path-key.ts';

const WHAT: Record<KeptBack['outcome'], string> = {
  merged: 'the upgrade\'s change lands in the host\'s own version',
  conflict: 'not applied unless chosen (--prefer host|sandbox PATH, or at review)',
  identity: 'the host\'s own kept (--prefer sandbox PATH applies the upgrade\'s)',
  runtime: 'runtime state, never applied',
};

export function keptBackLines(items: readonly Pick<KeptBack, 'path' | 'outcome' | 'sandbox' | 'why'>[], indent = '  '): string[] {
  if (!items.length) return [];
  const lines = [`${indent}sandbox-only paths the run changed:`];
  for (const i of items.filter((x) => x.outcome !== 'runtime')) {
    lines.push(`${indent}  ${i.outcome.padEnd(8)} ${displayKey(i.path)}  ${i.sandbox}; ${i.why ? `${i.why}; ` : ''}${WHAT[i.outcome]}`);
  }
  const runtime = items.filter((x) => x.outcome === 'runtime');
  if (runtime.length) {
    const shown = runtime.slice(0, 4).map((x) => displayKey(x.path)).join(', ');
    lines.push(`${indent}  runtime  ${runtime.length} path(s): ${shown}${runtime.length > 4 ? ', ...' : ''}  ${WHAT.runtime}`);
  }
  return lines;
}
