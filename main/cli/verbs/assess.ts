// `understudy assess TARGET`: protection report — last map's age, store intact, rollback point, host
// journal, free space — each with a verdict. Exit 0 unless a verdict is fail: exit 1, and with --json the
// result line says ok:false with error {code: 'assess-failed', message} like every failed verb's.
import type { Verb } from '../verb.ts';
import { printResult } from '../output.ts';
import { assessTarget } from '../../app/runs/assess.ts';
import { hostProbes } from '../../app/runs/host-probes-registry.ts';
import { isUnderstudyError, UnderstudyError } from '../../core/domain/errors.ts';
import { parseTarget } from '../../core/domain/map-target.ts';

const MARK = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', unknown: '?   ' } as const;

export const assessVerb: Verb = {
  name: 'assess',
  summary: 'protection report for a host: assess TARGET',
  configure: (c) => c.argument('<target>', 'ssh://USER@HOST[:PORT] | dir:PATH | local'),
  async run(rt, args) {
    const target = args[0]!;
    try { parseTarget(target); } catch (e) { // the grammar every verb uses; here a usage error (exit 2)
      throw isUnderstudyError(e) ? new UnderstudyError('usage', e.message) : e;
    }
    const a = await assessTarget(rt.store, target, hostProbes());
    const failed = a.items.filter((i) => i.verdict === 'fail');
    if (rt.out.json && a.verdict === 'fail') {
      const message = `${target} is not protected: ${failed.map((i) => `${i.name} (${i.detail})`).join('; ')}`;
      process.stdout.write(JSON.stringify({ type: 'result', ok: false, ...a, error: { code: 'assess-failed', message } }) + '\n');
      return 1;
    }
    printResult(rt.out, { ...a }, () => [
      `${target}: ${a.verdict.toUpperCase()}`,
      ...a.items.map((i) => `  ${MARK[i.verdict]}  ${i.name.padEnd(22)} ${i.detail}`),
    ].join('\n'));
    return a.verdict === 'fail' ? 1 : 0;
  },
};
