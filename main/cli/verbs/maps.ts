// `understudy maps`: list maps (id, content id, host, time, file count, size). The content id is the hash
// of the entries alone: maps of identical trees (clones, or one host captured twice unchanged) share it.
import type { Verb } from '../verb.ts';
import { printResult } from '../output.ts';
import { listMapIds, listMaps } from '../../adapters/store/map-store.ts';

export const mapsVerb: Verb = {
  name: 'maps',
  summary: 'list maps',
  configure: (c) => c,
  async run(rt) {
    const maps = await listMaps(rt.store);
    // listMaps leaves out map files it cannot parse: say so instead of hiding them
    const listed = new Set(maps.map((m) => m.id));
    const unreadable = (await listMapIds(rt.store)).filter((id) => !listed.has(id));
    if (unreadable.length) rt.out.info(`warning: ${unreadable.length} map file(s) could not be read (${unreadable.map((id) => id.slice(0, 12)).join(', ')}); run 'understudy verify'`);
    printResult(rt.out, { maps, ...(unreadable.length ? { unreadable } : {}) }, () => maps.length === 0 ? `no maps in ${rt.store}` : [
      'MAP           CONTENT       CAPTURED                  HOST                 FILES        SIZE  TARGET',
      ...maps.map((m) => `${m.id.slice(0, 12)}  ${m.content.slice(0, 12)}  ${m.capturedAt.padEnd(24)}  ${m.host.slice(0, 20).padEnd(20)} ${String(m.files).padStart(6)} ${(m.bytes / 1e6).toFixed(1).padStart(9)} MB  ${m.target}`),
    ].join('\n'));
    return 0;
  },
};
