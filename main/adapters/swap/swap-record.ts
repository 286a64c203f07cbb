// What a swap (or rollback) transaction leaves behind so it can be rolled back later: the changes it
// made (path, from, to), where each old object went (undo slots), and the pre-swap times of the
// directories it touched. Kept twice: on the host next to the journal (work/tx/TXID/record.json) and in
// the store (STORE/swaps/TXID.json), so a rollback works from either side. A release upgrade's record
// runs to tens of megabytes, so each also has a head (record-head.json, TXID.head.json: the record
// without its per-path parts): listing the history reads heads only, and only the transaction being
// reverted is read whole (from the store, or from the host when the store lacks it).
import { createReadStream } from 'node:fs';
import { access, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { UnderstudyError } from '../../core/domain/errors.ts';
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
  /** Each change with `undo`: the op that put something at its path, whose undo slot holds what was there before. */
  changes: Array<{ path: string; from: Entry | null; to: Entry | null; undo?: UndoSlot }>;
  /**
   * Records written before slots went with their changes: path -> slot. A JSON object with a key per
   * path costs ~400 bytes a path to parse (a release upgrade's 100k: 40 MB); only read, never written.
   */
  undo?: Record<string, UndoSlot>;
  /** parent directories whose times were kept: path -> mtime before the transaction. */
  parentTimes: Record<string, string>;
  /** path -> another name of its old inode, left in the tree (its undo slot is dropped after the commit). */
  rejoin?: Record<string, string>;
  /** Filled in once known. */
  outcome?: 'committed' | 'aborted';
  revertedBy?: string;
}

export interface UndoSlot { n: number; area: number }

/** A record without its per-path parts: what listing, resuming and choosing what to revert need. */
export type SwapRecordHead = Omit<SwapRecord, 'changes' | 'undo' | 'parentTimes' | 'rejoin'>;

export const recordFile = (host: SwapHost, txid: string) => join(host.work, 'tx', txid, 'record.json');
const headFile = (host: SwapHost, txid: string) => join(host.work, 'tx', txid, 'record-head.json');
const storeDir = (store: string) => join(store, 'swaps');

export function headOf(r: SwapRecordHead | SwapRecord): SwapRecordHead {
  const { changes: _c, undo: _u, parentTimes: _p, rejoin: _r, ...head } = r as SwapRecord;
  return head;
}

/** Bytes of record text per chunk: a release upgrade's record is tens of megabytes, never held whole. */
const CHUNK = 1 << 16;

/** An entry as a change writes it: without its path when that is the change's (loadRecord puts it back). */
const pathless = (e: Entry | null, path: string) => (e?.path === path ? { ...e, path: undefined } : e);

/**
 * The record as it is written: a line of JSON with everything but the changes, then a line per change,
 * each with its undo slot from `undoOf` and nothing else it may carry (a merge's bytes); in chunks made
 * as they are taken. Read back line by line (loadRecord), never as one text of tens of megabytes.
 * Records written before were one line of JSON, changes included: the first line of either is its head.
 */
export function* recordChunks(r: SwapRecord, undoOf: (path: string) => UndoSlot | undefined = () => undefined): Generator<string> {
  const { changes, ...rest } = r;
  let buf = JSON.stringify(rest) + '\n';
  for (const c of changes) {
    buf += JSON.stringify({ path: c.path, from: pathless(c.from, c.path), to: pathless(c.to, c.path), undo: c.undo ?? undoOf(c.path) }) + '\n';
    if (buf.length >= CHUNK) { yield buf; buf = ''; }
  }
  yield buf;
}

const firstLine = (text: string) => text.slice(0, (text.indexOf('\n') + 1 || text.length + 1) - 1);

/** A record from its lines (either format): the changes' entries get their paths back. */
async function parseRecord(lines: AsyncIterable<string> | Iterable<string>): Promise<SwapRecord> {
  let r: SwapRecord | undefined;
  for await (const line of lines) {
    if (line === '') continue;
    if (!r) { r = JSON.parse(line) as SwapRecord; r.changes ??= []; continue; }
    r.changes.push(JSON.parse(line) as SwapRecord['changes'][number]);
  }
  if (!r) throw new SyntaxError('an empty record');
  for (const c of r.changes) {
    if (c.from && c.from.path === undefined) c.from.path = c.path;
    if (c.to && c.to.path === undefined) c.to.path = c.path;
  }
  return r;
}

async function writeAtomically(file: string, text: string | Iterable<string>): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

export async function saveRecord(host: SwapHost, store: string, r: SwapRecord, undoOf?: (path: string) => UndoSlot | undefined): Promise<void> {
  const head = JSON.stringify(headOf(r)) + '\n';
  await host.mkdirp(join(host.work, 'tx', r.txid));
  // the whole record before its head: a head on the host always has its record next to it
  await host.writeText(recordFile(host, r.txid), recordChunks(r, undoOf));
  await host.writeText(headFile(host, r.txid), head);
  await mkdir(storeDir(store), { recursive: true });
  await writeAtomically(join(storeDir(store), `${r.txid}.json`), recordChunks(r, undoOf));
  await writeAtomically(join(storeDir(store), `${r.txid}.head.json`), head);
}

/** The store's head of a record, with its outcome once known (what a rollback trusts when the host's copy is gone). */
export async function saveStoreOutcome(store: string, r: SwapRecordHead): Promise<void> {
  await mkdir(storeDir(store), { recursive: true });
  await writeAtomically(join(storeDir(store), `${r.txid}.head.json`), JSON.stringify(headOf(r)) + '\n');
}

/** The whole record of one transaction: the store's copy, else the host's. */
export async function loadRecord(host: SwapHost, store: string, txid: string): Promise<SwapRecord> {
  const local = join(storeDir(store), `${txid}.json`);
  if (await access(local).then(() => true, () => false)) {
    return parseRecord(createInterface({ input: createReadStream(local, 'utf8'), crlfDelay: Infinity }));
  }
  const text = await host.readText(recordFile(host, txid));
  if (text === null) throw new UnderstudyError('store-corrupt', `the record of transaction ${txid} is neither in the store nor on ${host.target}`);
  return parseRecord(text.split('\n'));
}

/** A record head as the host holds it; none when it does not parse (cut off by an orchestrator killed while
 *  writing it: its transaction never got a journal, and recover discards it). */
function parsedHead(line: string): SwapRecordHead | undefined {
  try { return headOf(JSON.parse(line) as SwapRecord); } catch { return undefined; }
}

/** What the host holds of each transaction: its record's head and its journal's state lines (either may be missing). */
export interface HostTx { record?: SwapRecordHead; journal?: string }

/** Every transaction's record head and journal (without its 'done' lines) on the host, read by the agent in one call (one round trip). */
export async function readHostTxs(host: SwapHost): Promise<Map<string, HostTx>> {
  let r = await host.agent(['records', host.work]);
  if (r.code !== 0) {
    // no agent yet (never swapped here: nothing to read, and a read writes nothing), or one from an older
    // understudy that lacks 'records'
    if (!(await host.list(join(host.work, 'tx'))).length) return new Map();
    await host.installAgent();
    r = await host.agent(['records', host.work]);
    if (r.code !== 0) throw new UnderstudyError('io', `${host.target}: cannot read the swap records (agent exit ${r.code}): ${r.stderr.trim().slice(-300)}`);
  }
  const out = new Map<string, HostTx>();
  // '@@ TXID/record-head.json' (or record.json, from an agent older than heads) or '@@ TXID/journal', then the file's lines
  let cur: { tx: HostTx; file: string; lines: string[] } | undefined;
  const close = () => {
    if (!cur) return;
    const text = cur.lines.join('\n') + '\n';
    if (cur.file === 'journal') cur.tx.journal = text;
    else cur.tx.record = parsedHead(firstLine(text));
  };
  for (const line of r.stdout.split('\n')) {
    const head = /^@@ ([^/]+)\/(record-head\.json|record\.json|journal)$/.exec(line);
    if (!head) { cur?.lines.push(line); continue; }
    close();
    const tx = out.get(head[1]!) ?? {};
    out.set(head[1]!, tx);
    cur = { tx, file: head[2]!, lines: [] };
  }
  if (cur) cur.lines.pop(); // the output's last newline
  close();
  return out;
}

/**
 * Refuses while a transaction on the host is journaled but neither committed nor undone: a new swap or
 * rollback planned over its half-renamed tree would be undone in part by the recovery that still owes.
 */
export function assertRecovered(host: SwapHost, onHost: Map<string, HostTx>): void {
  // planned but neither committed nor undone; or committed before its barrier and not yet made durable
  // (agent.sh: 'commit TS async' without 'synced')
  const open = [...onHost].filter(([, tx]) => {
    const j = tx.journal ?? '';
    return (/^planned/m.test(j) && !/^(commit|aborted)/m.test(j)) || (/^commit .* async$/m.test(j) && !/^synced/m.test(j));
  }).map(([id]) => id);
  if (open.length) {
    throw new UnderstudyError('needs-recovery', `${host.target} has an interrupted transaction (${open.join(', ')}); `
      + `run 'understudy recover ${host.target}' first (host untouched)`, { txids: open });
  }
}

/** Every transaction of this target, oldest first, as heads: host records win over the store's copies. */
export async function listRecords(host: SwapHost, store: string, onHost?: Map<string, HostTx>): Promise<SwapRecordHead[]> {
  const byId = new Map<string, SwapRecordHead>();
  const names = new Set(await readdir(storeDir(store)).catch(() => []));
  for (const f of names) {
    // a head where there is one; a whole record only from a store older than heads
    const head = f.endsWith('.head.json');
    if (!f.endsWith('.json') || f.endsWith('.tmp') || (!head && names.has(f.replace(/\.json$/, '.head.json')))) continue;
    const r = headOf(JSON.parse(firstLine(await readFile(join(storeDir(store), f), 'utf8'))) as SwapRecord);
    if (r.target === host.target) byId.set(r.txid, r);
  }
  for (const [id, tx] of onHost ?? await readHostTxs(host)) if (tx.record) byId.set(id, tx.record);
  return [...byId.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.txid.localeCompare(b.txid));
}

export function newTxid(kind: 'swap' | 'rollback'): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${t}-${kind}-${Math.random().toString(36).slice(2, 8)}`;
}
