// `understudy diff MAP_A MAP_B`: added / changed (content or metadata) / removed paths.
import type { Verb } from '../verb.ts';
import { printResult } from '../output.ts';
import { oneLine } from '../one-line-path.ts';
import { loadMap } from '../../adapters/store/map-store.ts';
import { diffMaps } from '../../core/domain/map-diff.ts';
import { displayKey } from '../../core/domain/path-key.ts';

export const diffVerb: Verb = {
  name: 'diff',
  summary: 'what differs between two maps: diff MAP_A MAP_B',
  configure: (c) => c.argument('<mapA>').argument('<mapB>'),
  async run(rt, args) {
    const [a, b] = [await loadMap(rt.store, args[0]!), await loadMap(rt.store, args[1]!)];
    const d = diffMaps(a.manifest, b.manifest);
    printResult(rt.out, { mapA: a.id, mapB: b.id, ...d }, () => [
      ...d.added.map((p) => `+ /${oneLine(displayKey(p))}`), ...d.changed.map((p) => `~ /${oneLine(displayKey(p))}`), ...d.removed.map((p) => `- /${oneLine(displayKey(p))}`),
      `${d.added.length} added, ${d.changed.length} changed, ${d.removed.length} removed`,
    ].join('\n'));
    return 0;
  },
};
