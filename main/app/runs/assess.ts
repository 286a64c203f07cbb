// Gathers the facts for `assess` and builds the report. Store-side facts come from the store and the run
// store; host-side facts (swap journal, free space) from probes the composition root provides — without
// them those items are `unknown`, saying so.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { listMaps } from '../../adapters/store/map-store.ts';
import { verifyStore } from '../../adapters/store/verify-store.ts';
import { assessReport, type AssessFacts, type Assessment, type Fact } from '../../core/workflow/assess-report.ts';
import { RunStore } from '../run-store/run-store.ts';

export interface HostProbes {
  journalClean(target: string): Promise<{ clean: boolean; detail?: string }>;
  freeSpace(target: string): Promise<{ freeBytes: number; neededBytes: number }>;
}

async function fact<T>(f: (() => Promise<T>) | undefined, missing: string): Promise<Fact<T>> {
  if (!f) return { unknown: missing };
  try { return { value: await f() }; } catch (err) { return { unknown: err instanceof Error ? err.message : String(err) }; }
}

export async function assessTarget(store: string, target: string, host?: HostProbes, now = new Date()): Promise<Assessment> {
  const maps = await listMaps(store).catch(() => []);
  const mine = maps.filter((m) => m.target === target);
  const last = mine[mine.length - 1];
  const facts: AssessFacts = {
    target, now,
    lastMap: { value: last ? { id: last.id, capturedAt: last.capturedAt } : undefined },
    storeIntact: await fact(async () => {
      const v = await verifyStore(store, undefined);
      return { ok: v.ok, corrupt: v.corrupt.length, maps: v.maps };
    }, 'no store'),
    rollbackPoint: await fact(async () => rollbackPoint(store, target, new Set(mine.map((m) => m.id)), last?.id), 'no store'),
    journalClean: await fact(host && (() => host.journalClean(target)), 'host probes are not wired into this build'),
    freeSpace: await fact(host && (() => host.freeSpace(target)), 'host probes are not wired into this build'),
  };
  return assessReport(facts);
}

/** The map1 of the last upgrade of this target, if it is still in the store; else its latest map. */
function rollbackPoint(store: string, target: string, mapIds: Set<string>, latest: string | undefined) {
  if (existsSync(join(store, 'runs.db'))) {
    const runs = new RunStore(store);
    try {
      const up = runs.list({ host: target, outcome: 'upgraded', limit: 20 }).find((r) => r.target === target);
      const map1 = (up?.result as { map1?: string } | undefined)?.map1;
      if (up && map1 && mapIds.has(map1)) return { map: map1, run: up.id };
    } finally { runs.close(); }
  }
  return latest ? { map: latest } : undefined;
}
