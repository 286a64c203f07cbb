// `understudy maps`: list maps (id, content id, host, time, file count, size). The content id is the hash
// of the entries alone: maps of identical trees (clones, or one host captured twice unchanged) share it.
// Also the size of the download cache; `--clear-downloads` empties it (objects a map uses stay).
import type { Verb } from '../verb.ts';
import { printResult } from '../output.ts';
import { listMapIds, listMaps } from '../../adapters/store/map-store.ts';
import { downloadsSummary } from '../../adapters/store/download-index.ts';
import { clearDownloads } from '../../adapters/store/clear-downloads.ts';
import { formatBytes } from '../../core/domain/progress-format.ts';

export const mapsVerb: Verb = {
  name: 'maps',
  summary: 'list maps',
  configure: (c) => c.option('--clear-downloads', "empty the download cache (packages kept from sandboxes' repository traffic)"),
  async run(rt, _args, opts) {
    if (opts.clearDownloads) {
      const r = await clearDownloads(rt.store);
      printResult(rt.out, { clearedDownloads: r }, () => `download cache cleared: ${r.files} files, ${formatBytes(r.bytes)} freed` +
        `${r.keptForMaps ? ` (${r.keptForMaps} kept: maps use them)` : ''}`);
      return 0;
    }
    const maps = await listMaps(rt.store);
    // listMaps leaves out map files it cannot parse: say so instead of hiding them
    const listed = new Set(maps.map((m) => m.id));
    const unreadable = (await listMapIds(rt.store)).filter((id) => !listed.has(id));
    if (unreadable.length) rt.out.info(`warning: ${unreadable.length} map file(s) could not be read (${unreadable.map((id) => id.slice(0, 12)).join(', ')}); run 'understudy verify'`);
    const downloads = await downloadsSummary(rt.store);
    const cacheLine = `download cache: ${downloads.files} files, ${formatBytes(downloads.bytes)} (understudy maps --clear-downloads empties it)`;
    printResult(rt.out, { maps, downloads, ...(unreadable.length ? { unreadable } : {}) }, () => maps.length === 0 ? `no maps in ${rt.store}${downloads.files ? `\n${cacheLine}` : ''}` : [
      'MAP           CONTENT       CAPTURED                  HOST                 FILES        SIZE  TARGET',
      ...maps.map((m) => `${m.id.slice(0, 12)}  ${m.content.slice(0, 12)}  ${m.capturedAt.padEnd(24)}  ${m.host.slice(0, 20).padEnd(20)} ${String(m.files).padStart(6)} ${(m.bytes / 1e6).toFixed(1).padStart(9)} MB  ${m.target}`),
      ...(downloads.files ? [cacheLine] : []),
    ].join('\n'));
    return 0;
  },
};
