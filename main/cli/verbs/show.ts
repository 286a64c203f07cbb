// `understudy show RUN`: one run from the run store: stages with timings, result and error.
import type { Verb } from '../verb.ts';
import { printResult } from '../output.ts';
import { RunStore } from '../../app/run-store/run-store.ts';
import { processAlive } from '../../app/runs/process-alive.ts';
import type { RunResult } from '../../core/workflow/run-result.ts';
import { runRow } from '../render/run-listing.ts';
import { runDetailText, stageSummaries } from '../render/run-detail.ts';
import { requireRunStore } from './run-store-guard.ts';

export const showVerb: Verb = {
  name: 'show',
  summary: 'one run in detail: show RUN (an id or a unique prefix)',
  configure: (c) => c.argument('<run>', 'run id or a unique prefix of one'),
  async run(rt, args) {
    const id = args[0]!;
    requireRunStore(rt.store, `run '${id}'`);
    const store = new RunStore(rt.store);
    try {
      const rec = store.get(store.resolveId(id))!;
      const row = runRow(rec, processAlive);
      const stages = stageSummaries(store.timings(rec.id), rec.result as Partial<RunResult> | undefined, rec.outcome !== undefined || row.interrupted);
      printResult(rt.out, {
        run: rec.id, verb: rec.verb, target: rec.target, state: rec.state, outcome: rec.outcome ?? null,
        interrupted: row.interrupted, createdAt: rec.createdAt, updatedAt: rec.updatedAt, seconds: row.seconds,
        stages, input: rec.input, result: rec.result ?? null,
      }, () => runDetailText(rec, row, stages));
    } finally { store.close(); }
    return 0;
  },
};
