// `understudy show RUN`: one run from the run store: every stage attempt with its times, resumes, result and error.
import type { Verb } from '../verb.ts';
import { printResult } from '../output.ts';
import { RunStore } from '../../app/run-store/run-store.ts';
import { ownerRuns } from '../../app/runs/process-alive.ts';
import type { RunResult } from '../../core/workflow/run-result.ts';
import type { RunContext } from '../../core/workflow/run-types.ts';
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
      // a run still going (or interrupted) has no result yet: its resumes are in its saved context
      const resumes = (store.snapshot(rec.id) as { context?: RunContext } | undefined)?.context?.resumes;
      if (!rec.result && resumes?.length) rec.result = { resumes };
      const row = runRow(rec, ownerRuns);
      const stages = stageSummaries(store.timings(rec.id), rec.result as Partial<RunResult> | undefined, rec.outcome !== undefined || row.interrupted, row.interrupted);
      printResult(rt.out, {
        run: rec.id, verb: rec.verb, target: rec.target, state: rec.state, outcome: rec.outcome ?? null,
        interrupted: row.interrupted, createdAt: rec.createdAt, updatedAt: rec.updatedAt, seconds: row.seconds,
        stages, input: rec.input, result: rec.result ?? null,
      }, () => runDetailText(rec, row, stages));
    } finally { store.close(); }
    return 0;
  },
};
