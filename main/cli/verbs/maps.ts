// `understudy maps`: list maps (id, host, time, file count, size).
import type { Verb } from '../verb.ts';
import { printResult } from '../output.ts';
import { listMaps } from '../../adapters/store/map-store.ts';

export const mapsVerb: Verb = {
  name: 'maps',
  summary: 'list maps',
  configure: (c) => c,
  async run(rt) {
    const maps = await listMaps(rt.store);
    printResult(rt.out, { maps }, () => maps.length === 0 ? `no maps in ${rt.store}` : [
      'MAP           CAPTURED                  HOST                 FILES        SIZE  TARGET',
      ...maps.map((m) => `${m.id.slice(0, 12)}  ${m.capturedAt.padEnd(24)}  ${m.host.slice(0, 20).padEnd(20)} ${String(m.files).padStart(6)} ${(m.bytes / 1e6).toFixed(1).padStart(9)} MB  ${m.target}`),
    ].join('\n'));
    return 0;
  },
};
