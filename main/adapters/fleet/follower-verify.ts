// A follower's verification against its representative's rehearsal, with the store's maps and objects:
// the pure per-path check (core/domain/follower-delta.ts), the /etc 3-way merges made from the stored
// versions (base map1(R), ours map1(F), theirs map2(R)), and, when every path holds, the follower's own
// map2 saved to the store. Nothing here touches a host.
import { readFile } from 'node:fs/promises';
import type { Entry } from '../../core/domain/manifest.ts';
import { checkFollower, followerMap2, type FollowerVerdict, type MergeCandidate } from '../../core/domain/follower-delta.ts';
import { mergeTextBytes } from '../../core/domain/swap-diff3.ts';
import { mergedEntry } from '../../core/domain/swap-drift.ts';
import { diffMaps } from '../../core/domain/map-diff.ts';
import { loadMap, saveMap } from '../store/map-store.ts';
import { ObjectWriter } from '../store/object-writer.ts';
import { taintConflicts } from './follower-taint-scan.ts';
import { objectPath } from '../store/store-paths.ts';

export type { FollowerVerdict };

const SAMPLE = 20;

/** The merged bytes, or null when there is no clean merge (or a version is sparse: not text). */
async function merge(store: string, m: MergeCandidate): Promise<Uint8Array | null> {
  const versions = [m.base, m.from, m.to];
  if (versions.some((e) => e.type !== 'file' || !e.sha256 || e.sparse)) return null;
  const [b, o, t] = await Promise.all(versions.map((e) => readFile(objectPath(store, e.sha256!))));
  return mergeTextBytes(b!, o!, t!);
}

async function putObject(store: string, bytes: Uint8Array): Promise<{ sha256: string; size: number }> {
  const w = new ObjectWriter(store);
  const sink = w.sink();
  await sink.write(Buffer.from(bytes));
  const r = await sink.commit();
  await w.finish();
  return r;
}

export async function verifyFollower(store: string, rep: { map1: string; map2: string }, own: { map1: string }): Promise<FollowerVerdict> {
  const [r1, r2, f1] = await Promise.all([loadMap(store, rep.map1), loadMap(store, rep.map2), loadMap(store, own.map1)]);
  const check = checkFollower(r1.manifest, r2.manifest, f1.manifest);
  const merged = new Map<string, Entry>();
  const conflicts = [...check.conflicts];
  for (const m of check.merges) {
    const bytes = await merge(store, m);
    if (!bytes) {
      conflicts.push({ ...m.conflict, sandbox: `${m.conflict.sandbox} (no clean 3-way merge)` });
      continue;
    }
    if (!conflicts.length) merged.set(m.path, mergedEntry(m.path, m.from, m.base, m.to, await putObject(store, bytes)));
  }
  // what the rehearsal read from the representative's own files and wrote into one the follower would take
  const taken = [...check.identical, ...check.merges.map((m) => m.path)];
  conflicts.push(...await taintConflicts(store, r1.manifest, r2.manifest, f1.manifest, check.hostSpecific, taken));
  const verdict: FollowerVerdict = {
    takes: conflicts.length === 0, deltaPaths: check.deltaPaths, identical: check.identical.length, already: check.already.length,
    merged: check.merges.map((m) => m.path).filter((p) => merged.has(p)), hostSpecific: check.hostSpecific.length,
    hostSpecificSample: check.hostSpecific.slice(0, SAMPLE), conflicts,
  };
  if (!verdict.takes) return verdict;
  const map2 = followerMap2(f1.manifest, r2.manifest, check, merged);
  verdict.map2 = await saveMap(store, map2);
  verdict.delta = diffMaps(f1.manifest, map2, false);
  return verdict;
}
