// `understudy resume RUN`: continue a run whose orchestrator died, re-entering the interrupted stage.
import type { Verb } from '../verb.ts';
import { RunService } from '../../app/runs/run-service.ts';
import { stageServicesFor } from '../../app/runs/stage-services-registry.ts';
import { RunStore } from '../../app/run-store/run-store.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { RunInput } from '../../core/workflow/run-types.ts';
import { driveRunFromCli } from '../render/cli-run-driver.ts';

export const resumeVerb: Verb = {
  name: 'resume',
  summary: 'continue an interrupted run: resume RUN [--yes]',
  configure: (c) => c.argument('<run>', 'run id or a unique prefix of one')
    .option('--yes', 'approve the review without asking (conflicts still stop the run)'),
  async run(rt, args, opts) {
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
