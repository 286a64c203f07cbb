// `understudy recover TARGET`: finishes or undoes any interrupted swap or rollback on the host, so it is
// exactly the old or exactly the new system (the agent's journal decides; see agent.sh).
import type { Verb } from '../verb.ts';
import { printResult } from '../output.ts';
import { openTargetHost } from '../../app/stage-services/open-target-host.ts';
import { recover } from '../../adapters/swap/recover.ts';

export const recoverVerb: Verb = {
  name: 'recover',
  summary: 'finish or undo an interrupted swap or rollback: recover TARGET',
  configure: (c) => c.argument('<target>', 'dir:PATH | ssh://USER@HOST[:PORT]')
    .option('--identity <file>', 'SSH private key for an ssh:// target (default: ssh-agent)')
    .option('--accept-new-host-key', 'record an unknown SSH host key instead of refusing it'),
  async run(rt, args, opts) {
    const host = await openTargetHost(args[0]!, rt.store, { identity: opts.identity, acceptNewHostKey: Boolean(opts.acceptNewHostKey) }, rt.signal);
    try {
      const started = performance.now();
      const recovered = await recover(host);
      printResult(rt.out, { target: host.target, recovered, seconds: (performance.now() - started) / 1000 },
        () => recovered.length ? recovered.map((r) => `${r.txid}: ${r.result}`).join('\n') : `${host.target}: nothing to recover`);
      return 0;
    } finally { await host.close(); }
  },
};
