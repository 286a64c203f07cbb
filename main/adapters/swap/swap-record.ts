// What a swap (or rollback) transaction leaves behind so it can be rolled back later: the changes it
// made (path, from, to), where each old object went (undo slots), and the pre-swap times of the
// directories it touched. Kept twice: on the host next to the journal (work/tx/TXID/record.json) and in
// the store (STORE/swaps/TXID.json), so a rollback works from either side.
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Entry } from '../../core/domain/manifest.ts';
import type { SwapHost } from './swap-host.ts';

export interface SwapRecord {
  version: 1;
  txid: string;
  kind: 'swap' | 'rollback';
  target: string;
  createdAt: string;
  /** swap: the maps it went from/to. rollback: the map it restores (the reverted tx's map1 or map2). */
  map1?: string;
  map2?: string;
  restoredMap?: string;
  /** The map the host matched before / after this transaction (for rollback chains and --to MAP). */
  beforeMap?: string;
  afterMap?: string;
  /** rollback: the transaction it reverts. */
  reverts?: string;
  mounts: string[];
  areas: string[];
  changes: Array<{ path: string; from: Entry | null; to: Entry | null }>;
  /** path -> the op that put something there, whose undo slot holds what was there before. */
  undo: Record<string, { n: number; area: number }>;
  /** parent directories whose times were kept: path -> mtime before the transaction. */
  parentTimes: Record<string, string>;
  /** Filled in once known. */
  outcome?: 'committed' | 'aborted';
  revertedBy?: string;
}

export const recordFile = (host: SwapHost, txid: string) => join(host.work, 'tx', txid, 'record.json');
const storeDir = (store: string) => join(store, 'swaps');

export async function saveRecord(host: SwapHost, store: string, r: SwapRecord): Promise<void> {
  const text = JSON.stringify(r) + '\n';
  await host.mkdirp(join(host.work, 'tx', r.txid));
  await host.writeText(recordFile(host, r.txid), text);
  await mkdir(storeDir(store), { recursive: true });
  await writeFile(join(storeDir(store), `${r.txid}.json.tmp`), text);
  await rename(join(storeDir(store), `${r.txid}.json.tmp`), join(storeDir(store), `${r.txid}.json`));
}

/** Every transaction of this target, oldest first: host records win over the store's copies. */
export async function listRecords(host: SwapHost, store: string): Promise<SwapRecord[]> {
  const byId = new Map<string, SwapRecord>();
  for (const f of (await readdir(storeDir(store)).catch(() => [])).filter((n) => n.endsWith('.json'))) {
    const r = JSON.parse(await readFile(join(storeDir(store), f), 'utf8')) as SwapRecord;
    if (r.target === host.target) byId.set(r.txid, r);
  }
  for (const id of await host.list(join(host.work, 'tx'))) {
    const text = await host.readText(recordFile(host, id));
    if (text) byId.set(id, JSON.parse(text) as SwapRecord);
  }
  return [...byId.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.txid.localeCompare(b.txid));
}

export function newTxid(kind: 'swap' | 'rollback'): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${t}-${kind}-${Math.random().toString(36).slice(2, 8)}`;
}
