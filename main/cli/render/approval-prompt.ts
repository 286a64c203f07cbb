// Asks the operator at review (TTY only): a host/sandbox choice per conflict, then approve or abort.
import { createInterface } from 'node:readline/promises';
import type { Resolution, RunContext } from '../../core/workflow/run-types.ts';
import { reviewSummary } from './review-summary.ts';

export interface Approval { approve: boolean; resolutions: Record<string, Resolution> }

export async function askApproval(c: RunContext, input: NodeJS.ReadableStream, output: NodeJS.WritableStream, signal: AbortSignal): Promise<Approval> {
  const rl = createInterface({ input, output, terminal: false });
  try {
    output.write(reviewSummary(c) + '\n');
    const resolutions: Record<string, Resolution> = {};
    for (const k of c.conflicts ?? []) {
      const a = (await rl.question(`${k.path}: keep the host's version or take the sandbox's? [h/s/abort] `, { signal })).trim().toLowerCase();
      if (a === 'h' || a === 'host') resolutions[k.path] = 'host';
      else if (a === 's' || a === 'sandbox') resolutions[k.path] = 'sandbox';
      else return { approve: false, resolutions };
    }
    const a = (await rl.question(`Swap this onto ${c.input.target}? [y/N] `, { signal })).trim().toLowerCase();
    return { approve: a === 'y' || a === 'yes', resolutions };
  } finally { rl.close(); }
}
