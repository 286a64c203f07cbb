// `understudy runs`: run history from the run store, newest first.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Verb } from '../verb.ts';
import { printResult } from '../output.ts';
import { RunStore } from '../../app/run-store/run-store.ts';
import { processAlive } from '../../app/runs/process-alive.ts';
import { runRow, runsTable } from '../render/run-listing.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';

const OUTCOMES = ['upgraded', 'rehearsed', 'check-failed', 'conflict', 'rolled-back', 'needs-recovery', 'failed', 'cancelled', 'aborted'];

export const runsVerb: Verb = {
  name: 'runs',
  summary: 'run history: runs [--host H] [--outcome O] [--limit N]',
  configure: (c) => c
    .option('--host <target>', 'only runs whose target contains this')
    .option('--outcome <outcome>', 'only runs with this outcome (upgraded, rehearsed, check-failed, conflict, rolled-back, ...)')
    .option('--limit <n>', 'at most this many runs', '50'),
  async run(rt, _args, opts) {
    const limit = Number(opts.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UnderstudyError('usage', `--limit must be a positive whole number, not '${opts.limit}'`);
    if (opts.outcome && !OUTCOMES.includes(opts.outcome)) {
      throw new UnderstudyError('usage', `--outcome must be one of ${OUTCOMES.join(', ')}; got '${opts.outcome}'`);
    }
    if (!existsSync(join(rt.store, 'runs.db'))) {
      printResult(rt.out, { runs: [] }, () => `no runs in ${rt.store}`);
      return 0;
    }
    const store = new RunStore(rt.store);
    try {
      const rows = store.list({ host: opts.host, outcome: opts.outcome, limit })
        .map((r) => runRow(r, processAlive));
      printResult(rt.out, { runs: rows }, () => runsTable(rows));
    } finally { store.close(); }
    return 0;
  },
};
