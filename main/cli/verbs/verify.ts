// `understudy verify [MAP]`: re-hash objects; exit 3 naming corrupt objects and every path using them.
import { existsSync } from 'node:fs';
import type { Verb } from '../verb.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { printResult } from '../output.ts';
import { oneLine } from '../one-line-path.ts';
import { verifyStore } from '../../adapters/store/verify-store.ts';

function corruptSummary(problems: number, objects: number, badMaps: number): string {
  const bad = problems - badMaps;
  return `CORRUPT: ${[bad ? `${bad} of ${objects} objects corrupt or missing` : '', badMaps ? `${badMaps} map file(s) damaged` : ''].filter(Boolean).join('; ')}`;
}

export const verifyVerb: Verb = {
  name: 'verify',
  summary: 're-hash objects; exit 3 on corruption: verify [MAP]',
  configure: (c) => c.argument('[map]', 'map id or unique prefix (default: every map and object)'),
  async run(rt, args) {
    // "ok, 0 objects" for a mistyped --store would read as a pass
    if (!existsSync(rt.store)) throw new UnderstudyError('usage', `no store at ${rt.store}: nothing to verify`);
    let last = 0;
    const r = await verifyStore(rt.store, args[0], (done, total) => {
      if (Date.now() - last < 250) return;
      last = Date.now();
      rt.out.event({ type: 'progress', stage: 'verify', current: done, total });
    });
    const result = { ok: r.ok, objects: r.objects, bytes: r.bytes, maps: r.maps, corrupt: r.corrupt };
    if (rt.out.json) {
      const error = r.ok ? undefined : { code: 'store-corrupt', message: `${r.corrupt.length} corrupt or missing object(s)` };
      process.stdout.write(JSON.stringify({ type: 'result', ...result, error }) + '\n');
    }
    else printResult(rt.out, result, () => r.ok
      ? `ok: ${r.objects} objects (${(r.bytes / 1e6).toFixed(1)} MB) in ${r.maps} map(s) verified`
      : [corruptSummary(r.corrupt.length, r.objects, r.corrupt.filter((c) => c.reason === 'bad-map').length),
        ...r.corrupt.flatMap((c) => [`  ${c.object} (${c.reason})`, ...c.paths.map((p) => `    used by ${oneLine(p)}`)])].join('\n'));
    return r.ok ? 0 : 3;
  },
};
