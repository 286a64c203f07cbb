// A small line-based 3-way merge (diff3) for text config files: base = map1, ours = the host now,
// theirs = map2. It merges only when clean: changes of the two sides that overlap or even touch the
// same base lines are a conflict (as in git), never guessed.

/** Base lines [baseStart, baseEnd) became the side's lines [sideStart, sideEnd). */
export interface Hunk { baseStart: number; baseEnd: number; sideStart: number; sideEnd: number }

/** Longest common subsequence as matched index pairs (DP; config files are small). */
export function lcsPairs(a: string[], b: string[]): Array<[number, number]> {
  const n = a.length, m = b.length;
  const w = m + 1;
  const t = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      t[i * w + j] = a[i] === b[j] ? t[(i + 1) * w + j + 1]! + 1 : Math.max(t[(i + 1) * w + j]!, t[i * w + j + 1]!);
    }
  }
  const pairs: Array<[number, number]> = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) { pairs.push([i, j]); i++; j++; } else if (t[(i + 1) * w + j]! >= t[i * w + j + 1]!) i++; else j++;
  }
  return pairs;
}

/** The side's changes against base, in base order. */
export function hunks(base: string[], side: string[]): Hunk[] {
  const out: Hunk[] = [];
  let bi = 0, si = 0;
  for (const [b, s] of [...lcsPairs(base, side), [base.length, side.length] as [number, number]]) {
    if (b > bi || s > si) out.push({ baseStart: bi, baseEnd: b, sideStart: si, sideEnd: s });
    bi = b + 1; si = s + 1;
  }
  return out;
}

/** Lines of a text; the last element is '' when the text ends with '\n' (the "no final newline" fact kept). */
export function splitLines(text: string): string[] {
  return text.split('\n');
}

/** The side's lines for base range [lo, hi), given the side's hunks inside that range (sorted). */
function sideSlice(side: string[], inRange: Hunk[], lo: number, hi: number): string[] {
  const first = inRange[0]!, last = inRange[inRange.length - 1]!;
  return side.slice(first.sideStart - (first.baseStart - lo), last.sideEnd + (hi - last.baseEnd));
}

export const MAX_MERGE_LINES = 20000;

/** Returns the merged text, or null when the two sides' changes conflict (or the input is too large). */
export function diff3Merge(baseText: string, oursText: string, theirsText: string): string | null {
  if (oursText === theirsText) return oursText;
  if (oursText === baseText) return theirsText;
  if (theirsText === baseText) return oursText;
  const base = splitLines(baseText), ours = splitLines(oursText), theirs = splitLines(theirsText);
  if (Math.max(base.length, ours.length, theirs.length) > MAX_MERGE_LINES) return null;
  const tagged = [
    ...hunks(base, ours).map((h) => ({ ...h, side: 0 as const })),
    ...hunks(base, theirs).map((h) => ({ ...h, side: 1 as const })),
  ].sort((x, y) => x.baseStart - y.baseStart || x.baseEnd - y.baseEnd);

  const out: string[] = [];
  let pos = 0;
  let k = 0;
  while (k < tagged.length) {
    // grow a group of hunks whose base ranges overlap or touch
    let lo = tagged[k]!.baseStart, hi = tagged[k]!.baseEnd;
    const group = [tagged[k]!];
    k++;
    while (k < tagged.length && tagged[k]!.baseStart <= hi) {
      hi = Math.max(hi, tagged[k]!.baseEnd);
      lo = Math.min(lo, tagged[k]!.baseStart);
      group.push(tagged[k]!);
      k++;
    }
    out.push(...base.slice(pos, lo));
    const mine = group.filter((h) => h.side === 0), yours = group.filter((h) => h.side === 1);
    if (mine.length && yours.length) {
      const a = sideSlice(ours, mine, lo, hi), b = sideSlice(theirs, yours, lo, hi);
      if (a.length !== b.length || a.some((l, i) => l !== b[i])) return null;
      out.push(...a);
    } else if (mine.length) {
      out.push(...sideSlice(ours, mine, lo, hi));
    } else {
      out.push(...sideSlice(theirs, yours, lo, hi));
    }
    pos = hi;
  }
  out.push(...base.slice(pos));
  return out.join('\n');
}

/** Text we are willing to merge: no NUL byte, valid UTF-8. */
export function looksLikeText(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  try { new TextDecoder('utf-8', { fatal: true }).decode(bytes); return true; } catch { return false; }
}

/** Files larger than this are never merged (config files are small; a big one is a conflict). */
export const MAX_MERGE_BYTES = 1 << 20;

/**
 * The 3-way merge of three versions of a file as bytes (base = map1, ours = the host's, theirs =
 * map2's): null unless all three are small UTF-8 text and the merge is clean. The swap and a fleet
 * follower's verification (follower-delta.ts) both merge through this.
 */
export function mergeTextBytes(base: Uint8Array, ours: Uint8Array, theirs: Uint8Array): Uint8Array | null {
  if ([base, ours, theirs].some((b) => b.length > MAX_MERGE_BYTES || !looksLikeText(b))) return null;
  const dec = new TextDecoder('utf-8', { ignoreBOM: true }); // a BOM is content: keep it
  const merged = diff3Merge(dec.decode(base), dec.decode(ours), dec.decode(theirs));
  return merged === null ? null : new TextEncoder().encode(merged);
}
