// The representative's own text in the files a follower would take (core/domain/follower-taint.ts says
// why), read from the store's objects: its distinctive lines from the host-specific files under etc/
// (those the sandbox replaces, such as machine-id and SSH host keys, never reached the rehearsal), searched
// as whole words in the rehearsed version of every delta file outside the package payload, and counted
// only where the rehearsal introduced them.
import { readFile } from 'node:fs/promises';
import type { Entry, Manifest } from '../../core/domain/manifest.ts';
import type { Conflict } from '../../core/domain/swap-drift.ts';
import { effective, indexByPath } from '../../core/domain/swap-entry.ts';
import { isTaintSource, isTaintTarget, ownLines, TAINT_SOURCE_MAX, TAINT_TARGET_MAX } from '../../core/domain/follower-taint.ts';
import { displayKey } from '../../core/domain/path-key.ts';
import { isSandboxOnly } from '../sandbox/sandbox-edits.ts';
import { objectPath } from '../store/store-paths.ts';

interface Needle { text: string; bytes: Buffer; source: string }

/** A regular file's bytes (hard links resolved), or undefined when absent, not a file, sparse or over `max`. */
async function bytesOf(store: string, byPath: ReadonlyMap<string, Entry>, path: string, max: number): Promise<Buffer | undefined> {
  const raw = byPath.get(path);
  const e = raw && effective(raw, byPath);
  if (e?.type !== 'file' || !e.sha256 || e.sparse || e.size > max) return undefined;
  return readFile(objectPath(store, e.sha256));
}

const isWordByte = (b: number | undefined) => b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a));

/** Whether `needle` occurs in `hay` as a whole word (not inside a longer name). */
export function containsWord(hay: Buffer, needle: Buffer): boolean {
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) {
    if (!isWordByte(hay[i - 1]) && !isWordByte(hay[i + needle.length])) return true;
  }
  return false;
}

/**
 * Conflicts for the delta paths (`taken`: those the follower would take from the rehearsal) whose rehearsed
 * version holds a line of the representative's own that its version before the upgrade did not.
 */
export async function taintConflicts(store: string, rep1: Manifest, rep2: Manifest, own1: Manifest,
  hostSpecific: readonly string[], taken: readonly string[]): Promise<Conflict[]> {
  const r1 = indexByPath(rep1), r2 = indexByPath(rep2), f1 = indexByPath(own1);
  const needles: Needle[] = [];
  for (const source of hostSpecific.filter((p) => isTaintSource(p) && !isSandboxOnly(p))) {
    const mine = await bytesOf(store, r1, source, TAINT_SOURCE_MAX);
    if (!mine) continue;
    const theirs = await bytesOf(store, f1, source, TAINT_SOURCE_MAX);
    for (const text of ownLines(mine.toString('utf8'), theirs?.toString('utf8'))) needles.push({ text, bytes: Buffer.from(text, 'utf8'), source });
  }
  if (!needles.length) return [];
  const out: Conflict[] = [];
  for (const path of taken.filter(isTaintTarget)) {
    const next = await bytesOf(store, r2, path, TAINT_TARGET_MAX);
    if (!next) continue;
    const hit = needles.filter((n) => containsWord(next, n.bytes));
    if (!hit.length) continue;
    const before = await bytesOf(store, r1, path, TAINT_TARGET_MAX);
    const n = hit.find((h) => !(before && containsWord(before, h.bytes)));
    if (!n) continue;
    const quoted = n.text.length > 40 ? `${n.text.slice(0, 40)}...` : n.text;
    out.push({ path, host: `has its own /${displayKey(n.source)}`,
      sandbox: `the rehearsal wrote the representative's "${quoted}" (from its /${displayKey(n.source)}) into it` });
  }
  return out;
}
