// map2 as the swap must see it: the upgrade's whole effect on map1, nothing of the sandbox's own.
// - Paths neither the edits nor the boot touched: what the sandbox captured. Differences that are
//   artefacts of the disk round trip (mtime truncated to whole seconds, a sparse file stored dense) keep
//   map1's entry; everything map2's capture excluded keeps map1's version.
// - Runtime state (sandbox-edits.ts RUNTIME_STATE): map1's version, always.
// - Paths the edits or the boot touched: decided against the sandbox's own version before the upgrade
//   (the base, sandbox-base.ts). Unchanged by the upgrade -> map1's. Changed -> the upgrade's change
//   lands on the host's version when that is clear (the host's version was the sandbox's own; or a clean
//   3-way merge or replay of a text file); else the operator chooses (a conflict at review). Identity
//   paths (host keys, machine ids) keep map1's unless chosen. The per-run key never lands.
// What happened to each such path goes to the run's record (keptBack) for review.
import { readFile } from 'node:fs/promises';
import type { Entry, Manifest } from '../../core/domain/manifest.ts';
import type { KeptBack } from '../../core/workflow/run-types.ts';
import { compareKeys } from '../../core/domain/path-key.ts';
import { parentKey } from '../../core/domain/swap-delta.ts';
import { describeChange, effective, sameAttrs, sameContent } from '../../core/domain/swap-entry.ts';
import { diff3Merge, looksLikeText, MAX_MERGE_BYTES } from '../../core/domain/swap-diff3.ts';
import { rebaseChange, unifiedDiff } from '../../core/domain/line-change.ts';
import { ASKS_OPERATOR, isEdited, isIdentity, isRuntimeState } from '../../adapters/sandbox/sandbox-edits.ts';
import type { SandboxBase } from '../../adapters/sandbox/sandbox-base.ts';
import { sameLogicalContent, sameUpToDiskPrecision } from '../../adapters/sandbox/logical-content.ts';
import { packageOwnedDirs } from './package-owned-dirs.ts';
import { ObjectWriter } from '../../adapters/store/object-writer.ts';
import { objectPath } from '../../adapters/store/store-paths.ts';

function under(key: string, prefixes: string[]): boolean {
  return prefixes.some((p) => key === p || key.startsWith(p + '/'));
}

async function withoutRoundTripNoise(store: string, old: Entry | undefined, e: Entry): Promise<Entry> {
  if (!old) return e;
  let x = old.mtimeNs !== e.mtimeNs && sameUpToDiskPrecision(old.mtimeNs, e.mtimeNs) ? { ...e, mtimeNs: old.mtimeNs } : e;
  if (x.type === 'file' && old.type === 'file' && (x.sparse || old.sparse) && x.sha256 !== old.sha256
    && await sameLogicalContent(store, old, x)) {
    x = { ...x, sha256: old.sha256 };
    if (old.sparse) x.sparse = old.sparse; else delete x.sparse;
  }
  return x;
}

/** Same object and attributes; mtime aside (the sandbox's edits and its boot have their own times). */
function same(a: Entry | null, b: Entry | null): boolean {
  if (!a || !b) return a === b;
  return sameContent(a, b) && sameAttrs(a, b);
}

export interface EffectiveMap2 { manifest: Manifest; keptBack: KeptBack[] }

/**
 * `unchangedSinceBoot`: directories capture2 did not read because nothing in them changed after the boot
 * (capture-changed.ts fills them in from map1): what the sandbox had there is still its own version.
 */
export async function effectiveMap2(store: string, map1: Manifest, map2: Manifest, base?: SandboxBase,
  unchangedSinceBoot: string[] = []): Promise<EffectiveMap2> {
  const skipped = map2.excluded.map((x) => x.path).filter((p) => p !== '');
  const before = new Map(map1.entries.map((e) => [e.path, e]));
  const after = new Map(map2.entries.map((e) => [e.path, e]));
  const baseOf = (k: string): Entry | null | undefined => (base && Object.hasOwn(base.entries, k) ? base.entries[k] : undefined);
  // without a base (a run recorded before it existed) every edited path keeps map1's version, as it used to
  const sandboxOwn = (k: string) => (base ? baseOf(k) !== undefined : isEdited(k));
  // a directory a package ships there (nginx's /var/log/nginx) is the upgrade's, not runtime state
  const shipped = await packageOwnedDirs(store, map1, map2, isRuntimeState);
  const runtime = (k: string) => isRuntimeState(k) && !shipped.has(k);
  const foreign = (k: string) => under(k, skipped) || runtime(k) || sandboxOwn(k);
  const byPath = new Map<string, Entry>();
  for (const e of map2.entries) if (!foreign(e.path)) byPath.set(e.path, await withoutRoundTripNoise(store, before.get(e.path), e));
  for (const e of map1.entries) if (foreign(e.path)) byPath.set(e.path, e);

  const keptBack: KeptBack[] = [];
  const writer = new ObjectWriter(store);
  const text = new TextMerger(store, writer);
  if (base) {
    for (const k of Object.keys(base.entries).sort(compareKeys)) {
      if (under(k, skipped) || runtime(k)) continue;
      const a = before.get(k), b = baseOf(k)!, c = under(k, unchangedSinceBoot) ? b ?? undefined : after.get(k);
      const d = await decide(k, a ? effective(a, before) : null, b, c ? effective(c, after) : null, text);
      if (d.item) keptBack.push(d.item);
      if (d.take === 'map2') {
        if (c) byPath.set(k, await withoutRoundTripNoise(store, a, c)); else byPath.delete(k);
      } else if (d.take !== 'map1') byPath.set(k, d.take);
      else if (!a) byPath.delete(k);
    }
  }
  await writer.finish();
  for (const k of new Set([...before.keys(), ...after.keys()])) {
    if (!runtime(k) || under(k, skipped)) continue;
    const a = before.get(k) ?? null, c = after.get(k) ?? null;
    if (!same(a, c)) keptBack.push({ path: k, outcome: 'runtime', sandbox: describeChange(a, c) });
  }
  keepConsistent(byPath, before, after);
  // a chosen entry below a directory only the sandbox has brings that directory along
  for (const i of keptBack) {
    const own = i.ifChosen?.[0];
    if (!own) continue;
    for (let p = parentKey(own.path); p !== null && !byPath.has(p); p = parentKey(p)) {
      const d = after.get(p);
      if (d) i.ifChosen!.unshift(d);
    }
  }
  return {
    manifest: {
      ...map2,
      target: map1.target,
      host: map1.host,
      entries: [...byPath.values()].sort((a, b) => compareKeys(a.path, b.path)),
      excluded: map1.excluded,
      filesystems: map1.filesystems,
      unstable: map2.unstable.filter((k) => !foreign(k)),
    },
    keptBack: keptBack.sort((x, y) => compareKeys(x.path, y.path)),
  };
}

type Decision = { take: 'map1' | 'map2' | Entry; item?: KeptBack };

/** One path the edits or the boot touched: a = host (map1), b = the sandbox's own before the upgrade, c = after. */
async function decide(k: string, a: Entry | null, b: Entry | null, c: Entry | null, text: TextMerger): Promise<Decision> {
  if (same(c, b)) return { take: 'map1' };
  const item = (outcome: KeptBack['outcome'], extra: Partial<KeptBack> = {}): KeptBack =>
    ({ path: k, outcome, sandbox: describeChange(b, c), ...extra });
  const theirs = c ? [c] : [];
  if (isIdentity(k)) return { take: 'map1', item: item('identity', { why: 'the host\'s identity: its own is kept unless chosen', ifChosen: theirs }) };
  const asks = ASKS_OPERATOR.has(k);
  // the host's version is the sandbox's own: the upgrade's version is exactly its change
  if (same(a, b) && !asks) return { take: 'map2', item: item('merged') };
  // (a host without root's authorized_keys has an empty one: the upgrade's keys still come without the per-run key)
  const t = b?.type === 'file' && c?.type === 'file' && (a ? a.type === 'file' : asks) ? await text.read(a, b, c) : undefined;
  const why = asks ? 'who may log in as root: only the operator applies a change to it' : 'no clean merge into the host\'s version';
  // a version that may hold the per-run key is never offered
  if (!t) return { take: 'map1', item: item('conflict', { why, ...(asks && c ? {} : { ifChosen: theirs }) }) };
  // root's authorized_keys: the sandbox's own lines (the per-run key) never reach the host
  const clean = asks ? (s: string) => withoutLines(s, t.base, t.ours) : (s: string) => s;
  const sandboxDiff = unifiedDiff(t.base, t.theirs);
  const merged = asks ? null : diff3Merge(t.base, t.ours, t.theirs) ?? rebaseChange(t.base, t.theirs, t.ours, true);
  if (merged !== null) {
    const e = await text.entry(a, b!, c!, merged);
    return { take: e, item: item('merged', { sandboxDiff, hostDiff: unifiedDiff(t.ours, merged) }) };
  }
  const chosen = clean(rebaseChange(t.base, t.theirs, t.ours, false)!);
  return {
    take: 'map1',
    item: item('conflict', { why, sandboxDiff, hostDiff: unifiedDiff(t.ours, chosen), ifChosen: [await text.entry(a, b!, c!, chosen)] }),
  };
}

/** `s` without the lines of `base` that `ours` does not have. */
function withoutLines(s: string, base: string, ours: string): string {
  const own = new Set(ours.split('\n'));
  const drop = new Set(base.split('\n').filter((l) => l !== '' && !own.has(l)));
  return s.split('\n').filter((l) => !drop.has(l)).join('\n');
}

/** Reads the three versions of a text file from the store, and stores merge results. */
class TextMerger {
  constructor(private readonly store: string, private readonly writer: ObjectWriter) {}

  /** The three texts; a missing host version reads as empty. */
  async read(a: Entry | null, b: Entry, c: Entry): Promise<{ ours: string; base: string; theirs: string } | undefined> {
    if ([a, b, c].some((e) => e && (e.size > MAX_MERGE_BYTES || !e.sha256))) return undefined;
    const [ours, base, theirs] = await Promise.all([a, b, c].map((e) => (e ? readFile(objectPath(this.store, e.sha256!)) : Buffer.alloc(0))));
    if (![ours!, base!, theirs!].every(looksLikeText)) return undefined;
    return { ours: ours!.toString('utf8'), base: base!.toString('utf8'), theirs: theirs!.toString('utf8') };
  }

  /** The merged text as an entry: the upgrade's mode and owner if it changed them, else the host's. */
  async entry(a: Entry | null, b: Entry, c: Entry, merged: string): Promise<Entry> {
    const bytes = Buffer.from(merged, 'utf8');
    const sink = this.writer.sink();
    await sink.write(bytes);
    const { sha256 } = await sink.commit();
    const attrs = a && sameAttrs(c, b) ? a : c;
    const e: Entry = { ...attrs, path: c.path, type: 'file', size: bytes.length, sha256, mtimeNs: c.mtimeNs };
    delete e.sparse;
    delete e.linkTo;
    return e;
  }
}

/**
 * Every entry's parent directory is there (a path the upgrade added below a directory the sandbox made
 * takes that directory along), and no hardlink points at a leader that was dropped (the member keeps
 * map1's version instead).
 */
function keepConsistent(byPath: Map<string, Entry>, before: Map<string, Entry>, after: Map<string, Entry>): void {
  for (const k of [...byPath.keys()]) {
    for (let p = parentKey(k); p !== null && !byPath.has(p); p = parentKey(p)) {
      const d = after.get(p) ?? before.get(p);
      if (d) byPath.set(p, d);
    }
  }
  for (const [k, e] of byPath) {
    if (e.type === 'hardlink' && e.linkTo !== undefined && !byPath.has(e.linkTo)) {
      const old = before.get(k);
      if (old) byPath.set(k, old); else byPath.delete(k);
    }
  }
}

/**
 * map2 with the upgrade's version of every kept-back path the operator chose ('sandbox' at review or
 * --prefer sandbox PATH): the swap applies this map instead. Undefined when nothing was chosen.
 */
export function withChosen(m: Manifest, keptBack: readonly KeptBack[], prefer: Readonly<Record<string, 'host' | 'sandbox'>>): Manifest | undefined {
  const chosen = keptBack.filter((i) => i.ifChosen && prefer[i.path] === 'sandbox');
  if (!chosen.length) return undefined;
  const byPath = new Map(m.entries.map((e) => [e.path, e]));
  for (const i of chosen) {
    if (i.ifChosen!.length === 0) byPath.delete(i.path);
    for (const e of i.ifChosen!) if (e.path === i.path || !byPath.has(e.path)) byPath.set(e.path, e);
  }
  return { ...m, entries: [...byPath.values()].sort((a, b) => compareKeys(a.path, b.path)) };
}
