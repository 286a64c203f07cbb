// `understudy recover TARGET`: finishes or undoes any interrupted swap or rollback on the host, so it is
// exactly the old or exactly the new system (the agent's journal decides; see agent.sh).
import type { Verb } from '../verb.ts';
import { printResult } from '../output.ts';
import { openSwapHost } from '../../adapters/swap/open-host.ts';
import { recover } from '../../adapters/swap/recover.ts';

export const recoverVerb: Verb = {
  name: 'recover',
  summary: 'finish or undo an interrupted swap or rollback: recover TARGET',
  configure: (c) => c.argument('<target>'),
  async run(rt, args) {
    const host = await openSwapHost(args[0]!);
    try {
      const started = performance.now();
      const recovered = await recover(host);
      printResult(rt.out, { target: host.target, recovered, seconds: (performance.now() - started) / 1000 },
        () => recovered.length ? recovered.map((r) => `${r.txid}: ${r.result}`).join('\n') : `${host.target}: nothing to recover`);
      return 0;
    } finally { await host.close(); }
  },
};
