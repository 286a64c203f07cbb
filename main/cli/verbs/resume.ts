// `understudy resume RUN`: continue a run whose orchestrator died, re-entering the interrupted stage, or
// rewinding to booting when that stage needed the sandbox (core/workflow/resume-plan.ts).
// `understudy resume BATCH`: continue a whole batch (see batch.ts); batch and run ids look alike, so an id
// (or prefix) that names both is refused as ambiguous.
import type { Verb } from '../verb.ts';
import { RunService } from '../../app/runs/run-service.ts';
import { stageServicesFor } from '../../app/runs/stage-services-registry.ts';
import { RunStore } from '../../app/run-store/run-store.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { RunInput } from '../../core/workflow/run-types.ts';
import { driveRunFromCli } from '../render/cli-run-driver.ts';
import { BatchStore } from '../../app/run-store/batch-store.ts';
import { resumeBatchFromCli } from './batch.ts';
import { requireRunStore } from './run-store-guard.ts';

function isBatch(storeDir: string, id: string): boolean {
  const store = new RunStore(storeDir);
  try {
    const batches = new BatchStore(store).match(id);
    if (batches.length === 0) return false;
    if (batches.includes(id)) return true;
    const runs = store.matchIds(id);
    if (runs.includes(id)) return false;
    if (runs.length) throw new UnderstudyError('usage', `'${id}' matches a batch and a run; give more of the id`);
    return true;
  } finally { store.close(); }
}

export const resumeVerb: Verb = {
  name: 'resume',
  summary: 'continue an interrupted run or batch: resume RUN|BATCH [--yes]',
  configure: (c) => c.argument('<run>', 'run or batch id, or a unique prefix of one')
    .option('--yes', 'approve the review without asking (conflicts still stop the run)')
    .addHelpText('after', `
A run continues at the stage it was interrupted in. Interrupted while it needed its sandbox (booting,
upgrading, checking, capturing2, rebooting), it rewinds to booting: the old sandbox died with its process (what is
left of it is destroyed), a new one boots from the cached image of map1, and the upgrade and checks run
again. From the swap on, the host's journal decides. 'show RUN' lists every attempt and every resume.
'runs' shows runs whose process died (a crash, kill -9, a restart of this machine) as interrupted.`),
  async run(rt, args, opts) {
    requireRunStore(rt.store, `run or batch '${args[0]!}'`);
    if (isBatch(rt.store, args[0]!)) return resumeBatchFromCli(rt, args[0]!);
    const store = new RunStore(rt.store);
    const svc = new RunService({ store, services: (input: RunInput) => stageServicesFor(input, rt.store) });
    try {
      const id = store.resolveId(args[0]!);
      const rec = store.get(id)!;
      if (rec.outcome) throw new UnderstudyError('usage', `run ${id} already finished (${rec.outcome}); nothing to resume`);
      const handle = svc.resume(id);
      return await driveRunFromCli(rt, svc, handle, { yes: Boolean(opts.yes) });
    } finally {
      await svc.close();
      store.close();
    }
  },
};
