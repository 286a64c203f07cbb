// `understudy assess TARGET`: protection report — last map's age, store intact, rollback point, host
// journal, free space — each with a verdict. Exit 0 unless a verdict is fail (exit 1).
import type { Verb } from '../verb.ts';
import { printResult } from '../output.ts';
import { assessTarget } from '../../app/runs/assess.ts';
import { hostProbes } from '../../app/runs/host-probes-registry.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';

const MARK = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', unknown: '?   ' } as const;

export const assessVerb: Verb = {
  name: 'assess',
  summary: 'protection report for a host: assess TARGET',
  configure: (c) => c.argument('<target>', 'ssh://USER@HOST[:PORT] | dir:PATH | local'),
  async run(rt, args) {
    const target = args[0]!;
    if (!/^(ssh:\/\/.+|dir:.+|local)$/.test(target)) {
      throw new UnderstudyError('usage', `'${target}' is not a target: use ssh://USER@HOST[:PORT], dir:PATH or local`);
    }
    const a = await assessTarget(rt.store, target, hostProbes());
    printResult(rt.out, { ...a }, () => [
      `${target}: ${a.verdict.toUpperCase()}`,
      ...a.items.map((i) => `  ${MARK[i.verdict]}  ${i.name.padEnd(22)} ${i.detail}`),
    ].join('\n'));
    return a.verdict === 'fail' ? 1 : 0;
  },
};
