// The swap: map1 -> map2 delta onto the host, drift-checked against the host as it is now, through one
// journaled transaction, then health commands; a failing health check rolls the swap back (exit 6).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { Entry, Manifest } from '../../core/domain/manifest.ts';
import { computeDelta, parentKey } from '../../core/domain/swap-delta.ts';
import { MAX_MERGE_BYTES, mergeTextBytes } from '../../core/domain/swap-diff3.ts';
import { ancestorsOf, brokenAncestor, classify, mergedEntry, withoutShadowed, type Conflict, type HostEntry, type Prefer } from '../../core/domain/swap-drift.ts';
import { displayKey } from '../../core/domain/path-key.ts';
import { indexByPath } from '../../core/domain/swap-entry.ts';
import type { Change } from '../../core/domain/swap-plan.ts';
import type { HealthResult, SwapHost } from './swap-host.ts';
import { assertRecovered, newTxid, readHostTxs } from './swap-record.ts';
import { objectFile, runTransaction, type TxStats } from './transaction.ts';
import { rollbackHeld } from './rollback.ts';
import { withHostLock } from './host-lock.ts';

export interface SwapRequest {
  host: SwapHost;
  store: string;
  map1: { id: string; manifest: Manifest };
  map2: { id: string; manifest: Manifest };
  prefer?: Prefer;
  health?: string[];
  signal?: AbortSignal;
  agentEnv?: Record<string, string>;
  /** Called once the transaction id is known (the run store keeps it). */
  onTx?(txid: string): void;
}

export interface SwapResult extends TxStats {
  merged: string[];
  keptHost: string[];
  health: HealthResult[];
  /** Services restarted and whether the host rebooted: nothing runs on a dir: host (cli-contract). */
  restarted: string[];
  rebooted: boolean;
}

async function tryMerge(host: SwapHost, store: string, path: string, base: Entry, to: Entry): Promise<Uint8Array | null> {
  if (base.size > MAX_MERGE_BYTES || to.size > MAX_MERGE_BYTES) return null;
  const [b, h, n] = await Promise.all([readFile(objectFile(store, base.sha256!)), host.readFile(path), readFile(objectFile(store, to.sha256!))]);
  return mergeTextBytes(b, h, n);
}

/** What a swap would do to the host as it is now: the delta re-checked path by path (re-stat; re-hash
 *  where stat differs), clean /etc merges made, conflicts listed. Only reads the host. */
export interface SwapPlan {
  changes: Change[];
  conflicts: Conflict[];
  merged: string[];
  keptHost: string[];
  /** Directories the transaction renames inside but does not change: they keep their own time. */
  parents: Map<string, { now: Entry; wantMtimeNs: string } | null>;
  /** path -> another name of its (shared) old inode that the swap leaves alone (PlanHeader.rejoin). */
  rejoin: Record<string, string>;
}

/** For each changed path whose host inode is shared: a name of its map1 link group outside the delta. */
function rejoinNames(changes: Change[], map1: Manifest, m1: ReadonlyMap<string, Entry>, inDelta: (p: string) => boolean): Record<string, string> {
  const leaderOf = (p: string) => { const e = m1.get(p); return e?.type === 'hardlink' ? e.linkTo! : p; };
  // only the groups of shared inodes the swap replaces: a list per group, not per file of the map
  const wanted = new Map<string, string[]>();
  for (const c of changes) if (c.from?.type === 'file' && ((c.from as HostEntry).nlink ?? 1) >= 2) wanted.set(leaderOf(c.path), []);
  if (!wanted.size) return {};
  for (const e of map1.entries) if ((e.type === 'file' || e.type === 'hardlink') && wanted.has(leaderOf(e.path))) wanted.get(leaderOf(e.path))!.push(e.path);
  const out: Record<string, string> = {};
  for (const c of changes) {
    if (c.from?.type !== 'file' || ((c.from as HostEntry).nlink ?? 1) < 2) continue;
    const q = wanted.get(leaderOf(c.path))?.find((p) => p !== c.path && !inDelta(p));
    if (q !== undefined) out[c.path] = q;
  }
  return out;
}

export async function planSwap(host: SwapHost, store: string, map1: Manifest, map2: Manifest, prefer?: Prefer): Promise<SwapPlan> {
  const m1 = indexByPath(map1), m2 = indexByPath(map2);
  const delta = computeDelta(map1, map2, { a: m1, b: m2 });
  const parents = new Set<string>();
  for (const i of delta.items) { const p = parentKey(i.path); if (p !== null) parents.add(p); }
  const paths = new Set([...delta.items.map((i) => i.path), ...parents, ...ancestorsOf(parents)]);
  const removedDirs = new Set(delta.items.filter((i) => i.next?.type !== 'dir' && i.base?.type === 'dir').map((i) => i.path));
  const now = withoutShadowed(await host.probe({ paths: [...paths], expected: m1, listChildren: removedDirs }));

  const plan: SwapPlan = { changes: [], conflicts: [], merged: [], keptHost: [], parents: new Map(), rejoin: {} };
  // a directory of map1 that the host turned into something else: nothing below it is written through it
  const blocked = new Map<string, string[]>();
  for (const d of classify(delta.items, now, m1, m2, prefer)) {
    const broken = d.kind === 'already' ? null : brokenAncestor(d.path, now, (p) => m1.get(p));
    if (broken !== null) {
      if (prefer?.get(broken) === 'host') plan.keptHost.push(d.path);
      else blocked.set(broken, [...blocked.get(broken) ?? [], d.path]);
    } else if (d.kind === 'apply') plan.changes.push({ path: d.path, from: d.from, to: d.to });
    else if (d.kind === 'keep-host') plan.keptHost.push(d.path);
    else if (d.kind === 'conflict') plan.conflicts.push(d.conflict);
    else if (d.kind === 'merge') {
      const bytes = await tryMerge(host, store, d.path, d.base, d.to);
      if (!bytes) { plan.conflicts.push({ ...d.conflict, sandbox: `${d.conflict.sandbox} (no clean 3-way merge)` }); continue; }
      const to = mergedEntry(d.path, d.from, d.base, d.to, { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length });
      plan.changes.push({ path: d.path, from: d.from, to, source: { kind: 'bytes', data: bytes } });
      plan.merged.push(d.path);
    }
  }
  for (const [dir, below] of blocked) {
    if (plan.conflicts.some((c) => c.path === dir)) continue;
    const e = now.get(dir);
    plan.conflicts.push({ path: dir, host: `${e ? `now a ${e.type}` : 'removed'} (map1: a directory)`,
      sandbox: `changes ${below.length} path(s) below it: ${below.slice(0, 3).map(displayKey).join(', ')}${below.length > 3 ? ' ...' : ''} (only --prefer host resolves it)` });
  }
  // a directory that goes away would take a path kept as the host has it along: it stays too
  const keptDirs = ancestorsOf(plan.keptHost);
  const sweeping = plan.changes.filter((c) => c.from?.type === 'dir' && c.to?.type !== 'dir' && keptDirs.has(c.path)).map((c) => c.path);
  plan.changes = plan.changes.filter((c) => !sweeping.includes(c.path));
  plan.keptHost.push(...sweeping);
  let inDelta: Set<string> | undefined; // (only asked about when an inode the swap replaces is shared)
  plan.rejoin = rejoinNames(plan.changes, map1, m1, (p) => (inDelta ??= new Set(delta.items.map((i) => i.path))).has(p));
  const changing = new Set(plan.changes.map((c) => c.path));
  for (const p of parents) {
    const e = now.get(p);
    if (e && e.type === 'dir' && !changing.has(p)) plan.parents.set(p, { now: e, wantMtimeNs: e.mtimeNs });
  }
  return plan;
}

export function swap(req: SwapRequest): Promise<SwapResult> {
  return withHostLock(req.host, () => swapLocked(req));
}

async function swapLocked(req: SwapRequest): Promise<SwapResult> {
  const started = performance.now();
  const { host, store } = req;
  assertRecovered(host, await readHostTxs(host));
  const { changes, conflicts, merged, keptHost, parents, rejoin } = await planSwap(host, store, req.map1.manifest, req.map2.manifest, req.prefer);
  const driftSeconds = (performance.now() - started) / 1000;
  if (conflicts.length) {
    throw new UnderstudyError('conflict', `${conflicts.length} path(s) changed on the host and in the sandbox; host untouched: `
      + conflicts.slice(0, 10).map((c) => `${c.path} (host: ${c.host}; sandbox: ${c.sandbox})`).join('; ')
      + ' — choose per path with --prefer host|sandbox PATH', { conflicts });
  }
  if (!changes.length) {
    // the host already is map2 wherever the delta goes (this swap ran before): no transaction, so a later
    // rollback still takes back the swap that did the work
    const health = req.health?.length ? await host.health(req.health, req.signal) : [];
    if (health.some((h) => !h.ok)) {
      throw new UnderstudyError('health-failed', 'health check failed; the host already was map2, nothing was swapped or rolled back: '
        + health.filter((h) => !h.ok).map((h) => `${h.cmd} exited ${h.exitCode}`).join('; '), { health });
    }
    return { txid: '', outcome: 'committed', files: 0, bytesSent: 0, seconds: (performance.now() - started) / 1000, windowSeconds: 0,
      merged, keptHost, health, restarted: [], rebooted: false };
  }
  const txid = newTxid('swap');
  req.onTx?.(txid);
  const stats = await runTransaction({
    host, store, changes, parents, rejoin, agentEnv: req.agentEnv,
    record: { version: 1, txid, kind: 'swap', target: host.target, createdAt: new Date().toISOString(),
      map1: req.map1.id, map2: req.map2.id, beforeMap: req.map1.id, afterMap: req.map2.id, mounts: mountsOf(req.map2.manifest) },
  });
  if (stats.outcome === 'aborted') {
    throw new UnderstudyError('io', `the swap failed on the host and was undone: ${stats.error ?? ''}`, { txid });
  }
  const health = req.health?.length ? await host.health(req.health, req.signal) : [];
  if (health.some((h) => !h.ok)) {
    const rb = await rollbackHeld({ host, store, agentEnv: undefined });
    throw new UnderstudyError('health-failed', `health check failed after the swap; rolled back (${rb.txid}): `
      + health.filter((h) => !h.ok).map((h) => `${h.cmd} exited ${h.exitCode}`).join('; '),
    { health, swap: stats, rollback: rb });
  }
  return { ...stats, phases: stats.phases && { driftSeconds, ...stats.phases }, merged, keptHost, health, restarted: [], rebooted: false };
}

export function mountsOf(m: Manifest): string[] {
  const mounts = (m.filesystems ?? []).map((f) => f.path);
  return mounts.includes('') ? mounts : ['', ...mounts];
}
