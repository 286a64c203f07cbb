// A text change moved from one version of a file to another, and a short unified diff for reports.
// rebaseChange: the upgrade changed the sandbox's own version of a file (base -> theirs); the host has
// a different version (ours). The upgrade's change is replayed on ours: lines it removed are removed
// where ours has them, lines it added go next to the same neighbours in ours. Strict mode gives up
// (null) when that is not clear: a removed line ours lacks (the upgrade edited a line only the sandbox
// had) or added lines with no neighbour found in ours. Lenient mode always answers (such additions go
// to the end); it is what an operator's explicit choice applies.
import { hunks, lcsPairs, MAX_MERGE_LINES, splitLines } from './swap-diff3.ts';

export function rebaseChange(baseText: string, theirsText: string, oursText: string, strict: boolean): string | null {
  if (theirsText === baseText) return oursText;
  const base = splitLines(baseText), theirs = splitLines(theirsText), ours = splitLines(oursText);
  if (Math.max(base.length, theirs.length, ours.length) > MAX_MERGE_LINES) return null;
  const inOurs = new Map<number, number>(lcsPairs(base, ours));
  const removed = new Set<number>();
  // additions per position in ours (inserted before ours[i]; i === ours.length: at the very end)
  const before = new Map<number, string[]>();
  const add = (at: number, lines: string[]) => before.set(at, [...before.get(at) ?? [], ...lines]);
  // where the text ends with a newline, ours' last element is '': the end of the text is before it
  const end = ours.length > 0 && ours[ours.length - 1] === '' ? ours.length - 1 : ours.length;
  for (const h of hunks(base, theirs)) {
    for (let b = h.baseStart; b < h.baseEnd; b++) {
      const o = inOurs.get(b);
      if (o !== undefined) removed.add(o);
      else if (strict) return null;
    }
    const lines = theirs.slice(h.sideStart, h.sideEnd);
    if (lines.length === 0) continue;
    const prev = h.baseStart > 0 ? inOurs.get(h.baseStart - 1) : -1;
    const next = inOurs.get(h.baseEnd);
    if (prev !== undefined) add(prev + 1, lines);
    else if (next !== undefined) add(next, lines);
    else if (strict) return null;
    else add(end, lines);
  }
  const out: string[] = [];
  for (let i = 0; i <= ours.length; i++) {
    out.push(...before.get(i) ?? []);
    if (i < ours.length && !removed.has(i)) out.push(ours[i]!);
  }
  return out.join('\n');
}

/** A unified diff of two texts (no file header), `context` lines around changes, at most `maxLines` lines. */
export function unifiedDiff(aText: string, bText: string, context = 2, maxLines = 80): string {
  if (aText === bText) return '';
  const a = splitLines(aText), b = splitLines(bText);
  if (Math.max(a.length, b.length) > MAX_MERGE_LINES) return `(too large to show: ${a.length} -> ${b.length} lines)`;
  // a trailing '' is the final newline, not a line
  const la = a[a.length - 1] === '' ? a.length - 1 : a.length, lb = b[b.length - 1] === '' ? b.length - 1 : b.length;
  const hs = hunks(a.slice(0, la), b.slice(0, lb));
  const out: string[] = [];
  let k = 0;
  while (k < hs.length) {
    // hunks closer than twice the context share one @@ block
    let last = k;
    while (last + 1 < hs.length && hs[last + 1]!.baseStart - hs[last]!.baseEnd <= 2 * context) last++;
    const first = hs[k]!, end = hs[last]!;
    const aFrom = Math.max(0, first.baseStart - context), aTo = Math.min(la, end.baseEnd + context);
    const bFrom = first.sideStart - (first.baseStart - aFrom), bTo = end.sideEnd + (aTo - end.baseEnd);
    out.push(`@@ -${aFrom + 1},${aTo - aFrom} +${bFrom + 1},${bTo - bFrom} @@`);
    let pos = aFrom;
    for (let i = k; i <= last; i++) {
      const h = hs[i]!;
      for (; pos < h.baseStart; pos++) out.push(` ${a[pos]}`);
      for (let x = h.baseStart; x < h.baseEnd; x++) out.push(`-${a[x]}`);
      for (let y = h.sideStart; y < h.sideEnd; y++) out.push(`+${b[y]}`);
      pos = h.baseEnd;
    }
    for (; pos < aTo; pos++) out.push(` ${a[pos]}`);
    k = last + 1;
  }
  if ((la === a.length) !== (lb === b.length)) out.push('\\ final newline ' + (lb === b.length ? 'removed' : 'added'));
  return out.length > maxLines ? [...out.slice(0, maxLines), `... ${out.length - maxLines} more lines`].join('\n') : out.join('\n');
}
