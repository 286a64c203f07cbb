// How a run got its rehearsal, as its result and the batch report tell it: in a sandbox of its own, or
// another run's (its group's representative), taken only after every path of that rehearsal's delta
// was verified against this host's own map1 (core/domain/follower-delta.ts).
import { displayKey } from '../domain/path-key.ts';
import type { Conflict } from './run-types.ts';

export interface RehearsalShare {
  /** 'own': this run booted a sandbox; 'shared': it took the rehearsal of `fromRun`. */
  mode: 'own' | 'shared';
  /** shared: whose rehearsal it took; own after a failed verification: whose it could not take. */
  fromRun?: string;
  fromTarget?: string;
  /** Paths of the rehearsed delta; how many were verified identical here, or already as rehearsed. */
  deltaPaths?: number;
  verified?: number;
  already?: number;
  /** Delta paths where this host's own text and the rehearsed one were merged (3-way, /etc). */
  merged?: string[];
  /** Paths where this host differs from the representative outside the delta: kept as they are. */
  hostSpecific?: number;
  /** own after a failed verification: the delta paths where this host differs and no rule resolves it. */
  conflicts?: Conflict[];
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
const pathList = (paths: string[], max = 3) => paths.slice(0, max).map((p) => '/' + displayKey(p)).join(', ') + (paths.length > max ? ', ...' : '');

/** One line for people: whose rehearsal, what was verified, merged and kept, or why it rehearsed alone. */
export function rehearsalShareText(s: RehearsalShare): string {
  const from = s.fromTarget ?? s.fromRun ?? 'another host';
  if (s.mode === 'shared') {
    const parts = [`${s.verified ?? 0} of ${plural(s.deltaPaths ?? 0, 'delta path')} verified identical`];
    if (s.already) parts.push(`${s.already} already as rehearsed`);
    if (s.merged?.length) parts.push(`${s.merged.length} merged (${pathList(s.merged)})`);
    parts.push(`${plural(s.hostSpecific ?? 0, 'host-specific path')} kept`);
    return `took the rehearsal of ${from}${s.fromRun && s.fromTarget ? ` (run ${s.fromRun})` : ''}: ${parts.join(', ')}`;
  }
  if (!s.conflicts?.length) return 'rehearsed in a sandbox of its own';
  return `rehearsed on its own: differs from ${from} on ${plural(s.conflicts.length, 'path')} the upgrade changes: `
    + s.conflicts.slice(0, 3).map((c) => `/${displayKey(c.path)} (here: ${c.host})`).join('; ') + (s.conflicts.length > 3 ? '; ...' : '');
}
