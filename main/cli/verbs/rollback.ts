// `understudy rollback TARGET [--to MAP|RUN] [--yes] [--health CMD]... [--reboot auto|never|always]`: puts
// back what the last swap (or rollback) changed, as its own journaled transaction, then restarts what it
// changed (or reboots, when it put back another kernel) as after a swap. A failing health check undoes the
// rollback (exit 6).
import { createInterface } from 'node:readline/promises';
import type { Verb } from '../verb.ts';
import { printResult } from '../output.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { resolveRollbackTo } from './rollback-target.ts';
import { openTargetHost } from '../../app/stage-services/open-target-host.ts';
import { revertible, rollbackLatest } from '../../adapters/swap/rollback.ts';
import { restartAfterRollback } from '../../app/stage-services/restart-after-rollback.ts';
import { rollbackLeftovers } from '../../core/domain/rollback-leftovers.ts';
import { holdConnection } from '../../app/stage-services/held-connection.ts';
import { sshConnector } from '../../app/stage-services/ssh-connector.ts';
import type { RemoteShell } from '../../core/ports/remote-shell.port.ts';
import { rebootRefusal } from '../../core/domain/restart-plan.ts';
import { parseTarget } from '../../core/domain/map-target.ts';
import { parseReboot } from './upgrade-options.ts';

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try { return /^y(es)?$/i.test((await rl.question(question)).trim()); } finally { rl.close(); }
}

export const rollbackVerb: Verb = {
  name: 'rollback',
  summary: 'put back what a swap changed: rollback TARGET [--to MAP|RUN] [--yes]',
  configure: (c) => c.argument('<target>')
    .option('--to <mapOrRun>', 'roll back until the host is this map again (or through this swap/run id)')
    .option('--yes', 'do not ask for confirmation')
    .option('--health <cmd>', 'health command to run after the rollback (repeatable)', (v: string, a: string[] = []) => [...a, v])
    .option('--reboot <when>', 'auto (default: reboot when the rollback puts back another kernel, libc or systemd, else restart what it changed), never, always')
    .option('--identity <file>', 'SSH private key for an ssh:// target (default: ssh-agent)')
    .option('--accept-new-host-key', 'record an unknown SSH host key instead of refusing it'),
  async run(rt, args, opts) {
    const reboot = parseReboot(opts.reboot);
    const refusal = rebootRefusal(parseTarget(args[0]!).kind, reboot);
    if (refusal) throw new UnderstudyError('usage', refusal);
    const ssh = { identity: opts.identity, acceptNewHostKey: Boolean(opts.acceptNewHostKey) };
    let host = await openTargetHost(args[0]!, rt.store, ssh, rt.signal);
    let held: RemoteShell | undefined;
    try {
      const to = await resolveRollbackTo(rt.store, opts.to);
      const stack = await revertible(host, rt.store);
      if (!stack.length) throw new UnderstudyError('usage', `nothing to roll back on ${host.target}: no committed swap`);
      if (!opts.yes) {
        if (!process.stdin.isTTY) throw new UnderstudyError('usage', 'rollback changes the host: pass --yes when not at a terminal');
        if (!await confirm(`Roll back ${stack[0]!.txid} on ${host.target}? [y/N] `)) throw new UnderstudyError('cancelled', 'rollback not confirmed');
      }
      rt.out.event({ type: 'stage', stage: 'rollback', state: 'active', at: new Date().toISOString() });
      // for the restart or reboot: the rollback may leave the running sshd unable to serve new logins
      if (reboot !== 'never') held = await holdConnection(args[0]!, sshConnector(rt.store, ssh, rt.signal));
      const r = await rollbackLatest({ host, store: rt.store, to });
      const io = {
        runId: r.txid, signal: rt.signal ?? new AbortController().signal, progress: () => undefined,
        log: (_s: string, _src: string, text: string) => rt.out.info(text),
      };
      const restart = await restartAfterRollback({
        store: rt.store, target: args[0]!, from: stack[0]!.afterMap, to: r.restoredMap, reboot, io, ssh, held,
      });
      if (restart.rebooted) { // the connection from before the reboot is gone
        await host.close().catch(() => undefined);
        host = await openTargetHost(args[0]!, rt.store, ssh, rt.signal);
      }
      const health = opts.health?.length ? await host.health(opts.health, rt.signal) : [];
      if (health.some((h) => !h.ok)) {
        const back = await rollbackLatest({ host, store: rt.store });
        throw new UnderstudyError('health-failed', `health failed after the rollback; the rollback was undone (${back.txid})`, { health });
      }
      rt.out.event({ type: 'stage', stage: 'rollback', state: 'done', at: new Date().toISOString(), seconds: r.seconds });
      printResult(rt.out, { run: r.txid, reverted: r.reverted, restoredMap: r.restoredMap, files: r.files, seconds: r.seconds, windowSeconds: r.windowSeconds,
        kept: r.kept, takenOut: r.takenOut, takenOutCount: r.takenOutCount, undoAreas: r.undoAreas, health, restarted: restart.restarted, rebooted: restart.rebooted },
      () => [`rolled back ${r.reverted} on ${host.target}: ${r.files} paths, ${r.seconds.toFixed(2)} s; host is map ${r.restoredMap?.slice(0, 12) ?? '?'}`,
        ...rollbackLeftovers(r)].join('\n'));
      return 0;
    } finally {
      await held?.close().catch(() => undefined);
      await host.close();
    }
  },
};
