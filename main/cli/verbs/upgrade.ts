// `understudy upgrade TARGET --run CMD [--check CMD]... [--health CMD]... [--yes] [--reboot auto|never|always]
//  [--prefer host|sandbox PATH]...`: rehearse in a sandbox, review (prompt, --yes or the UI), swap the
// verified delta through the journal, restart, health-check; a failing health check rolls back (exit 6).
import type { Verb } from '../verb.ts';
import { RunService } from '../../app/runs/run-service.ts';
import { stageServicesFor } from '../../app/runs/stage-services-registry.ts';
import { RunStore } from '../../app/run-store/run-store.ts';
import type { RunInput } from '../../core/workflow/run-types.ts';
import { parseTarget } from '../../core/domain/map-target.ts';
import { rebootRefusal } from '../../core/domain/restart-plan.ts';
import { driveRunFromCli } from '../render/cli-run-driver.ts';
import { addSandboxOptions, adapterOptions, parseRebootRehearsal, collect, parsePrefer, parseReboot } from './upgrade-options.ts';
import { checkSandboxOptions } from './sandbox-option-checks.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';

export const upgradeVerb: Verb = {
  name: 'upgrade',
  summary: 'rehearse, review, swap, health-check: upgrade TARGET --run CMD [--check CMD]... [--health CMD]... [--yes]',
  configure: (c) => addSandboxOptions(c
    .argument('<target>', 'dir:PATH | ssh://USER@HOST[:PORT] | local')
    .requiredOption('--run <cmd>', 'the upgrade command, run in the sandbox'))
    .option('--health <cmd>', 'a health command run on the host after the swap; repeatable (dir: hosts: on this machine, cwd = the directory)', collect, [] as string[])
    .option('--yes', 'approve the review without asking (unresolved conflicts still stop the run, exit 5)')
    .option('--reboot <when>', 'auto (kernel, initrd, libc or systemd changed), never, always', 'auto')
    .option('--prefer <side-and-path...>', 'on a conflict (drift, or a sandbox-only path the upgrade changed) keep the host\'s file or take the upgrade\'s; sandbox also applies the upgrade\'s change to an identity path (host keys, machine id): --prefer host|sandbox PATH'),
  async run(rt, args, opts) {
    const target = args[0]!;
    const kind = parseTarget(target).kind; // usage error before anything is created
    checkSandboxOptions(opts);
    const prefer = parsePrefer(opts.prefer);
    const reboot = parseReboot(opts.reboot);
    // preflight refuses it too (for the UI); from the command line it is a usage error, no run recorded
    const refusal = rebootRefusal(kind, reboot);
    if (refusal) throw new UnderstudyError('usage', refusal);
    // nobody could answer the review prompt: refuse now, not after a whole rehearsal (as batch and rollback do)
    if (!opts.yes && (rt.out.json || !process.stdin.isTTY)) {
      throw new UnderstudyError('usage', `upgrade changes the host: pass --yes when nobody can answer the review prompt (${rt.out.json ? '--json' : 'not a terminal'}), or use rehearse`);
    }
    const store = new RunStore(rt.store);
    const svc = new RunService({ store, services: (input: RunInput) => stageServicesFor(input, rt.store) });
    try {
      const handle = svc.startRun('upgrade', {
        target, command: opts.run, checks: opts.check, health: opts.health, yes: Boolean(opts.yes), reboot,
        rebootRehearsal: parseRebootRehearsal(opts.rebootRehearsal),
        options: { ...adapterOptions(opts), ...(Object.keys(prefer).length ? { prefer } : {}) },
      });
      return await driveRunFromCli(rt, svc, handle, { yes: Boolean(opts.yes) });
    } finally {
      await svc.close();
      store.close();
    }
  },
};
