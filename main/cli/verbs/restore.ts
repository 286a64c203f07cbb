// `understudy restore MAP DIR`: materialize a map into an empty directory, exactly.
import type { Verb } from '../verb.ts';
import { printResult } from '../output.ts';
import { restoreMap } from '../../adapters/restore/restore-map.ts';

export const restoreVerb: Verb = {
  name: 'restore',
  summary: 'materialize a map into an empty directory, exactly: restore MAP DIR',
  configure: (c) => c.argument('<map>').argument('<dir>'),
  async run(rt, args) {
    let last = 0;
    const progress = (stage: string) => (done: number, total: number) => {
      if (Date.now() - last < 250) return;
      last = Date.now();
      rt.out.event({ type: 'progress', stage, current: done, total });
    };
    const r = await restoreMap(rt.store, args[0]!, args[1]!, progress('restore'), progress('verify'));
    for (const w of r.warnings) rt.out.info(`warning: ${w}`);
    printResult(rt.out, { ...r }, () => `restored ${r.map.slice(0, 12)} into ${r.dir}: ${r.entries} entries, ${r.files} files, ${(r.bytes / 1e6).toFixed(1)} MB in ${r.seconds.toFixed(1)} s`);
    return 0;
  },
};
