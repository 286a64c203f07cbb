// How a rollback reports what it did not simply put back: the swap's paths the host changed since (left
// as they are), and what the host wrote in directories the swap made (taken out with them, kept in the
// rollback's undo area). Long lists are cut: a release upgrade's first boot writes hundreds of paths.
import { displayKey } from './path-key.ts';

export interface RollbackLeftovers { kept: readonly string[]; takenOut: readonly string[]; takenOutCount: number; undoAreas: readonly string[] }

const SHOWN = 12;
const list = (paths: readonly string[]) => paths.slice(0, SHOWN).map((p) => displayKey(p)).join(', ')
  + (paths.length > SHOWN ? ` and ${paths.length - SHOWN} more` : '');

export function rollbackLeftovers(r: RollbackLeftovers): string[] {
  const lines: string[] = [];
  if (r.kept.length) lines.push(`left as the host changed them since: ${list(r.kept)}`);
  if (r.takenOutCount) {
    lines.push(`taken out with the directories the upgrade made: ${r.takenOutCount} paths the host wrote there since (${list(r.takenOut)}); `
      + `kept in ${r.undoAreas.join(', ')} (rolling back this rollback puts them back)`);
  }
  return lines;
}
