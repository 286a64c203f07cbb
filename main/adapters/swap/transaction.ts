// One journaled transaction on a host: plan -> preflight (free space) -> plan file -> stage what the host
// lacks -> the agent renames everything in (or undoes it all). Swap and rollback both run here.
import { statSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeEntryContent } from '../restore/restore-map.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { buildPlan, type Change, type PlanInput } from '../../core/domain/swap-plan.ts';
import { planChunks, stagedPath, type PlanHeader } from '../../core/domain/swap-plan-format.ts';
import { displayKey } from '../../core/domain/path-key.ts';
import type { StageFile, SwapHost } from './swap-host.ts';
import { saveRecord, saveStoreOutcome, type SwapRecord, type UndoSlot } from './swap-record.ts';
import { collectGarbage } from './collect-garbage.ts';

export const objectFile = (store: string, sha: string) => join(store, 'objects', sha.slice(0, 2), sha.slice(2));

const storeCorrupt = (sha256: string, path: string, e: unknown) =>
  new UnderstudyError('store-corrupt', `object ${sha256} for ${displayKey(path)} is missing from the store`, { cause: String(e) });

/**
 * What the host lacks, as staged objects, produced one at a time while the host takes them. A sparse
 * entry's object holds only its data extents (see adapters/restore/restore-map.ts): its logical content,
 * holes included, is rebuilt in a temp file just before it is sent (removed by its `sent`, once it was), so
 * the host gets the file, not the extents.
 */
async function* stagedObjects(store: string, plan: ReturnType<typeof buildPlan>, areas: string[], changes: Change[], layout: PlanHeader['layout'],
  sizes: ReadonlyMap<string, number>): AsyncGenerator<StageFile> {
  // (a fresh object's meta holds its owner and mode; only a sparse one needs its whole entry)
  const sparse = new Map(changes.flatMap((c) => (c.to?.sparse ? [[c.path, c.to] as const] : [])));
  for (const op of plan.ops) {
    if (op.kind !== 'put' || op.stage.type !== 'file') continue;
    const src = op.stage.source;
    // the agent links/copies host-side sources itself (and makes every stage directory in one go)
    if (src.kind !== 'store' && src.kind !== 'bytes') continue;
    const dest = stagedPath(areas[op.area]!, op.n, op.path, layout);
    const { meta } = op.stage;
    const attrs = { mode: meta.mode ?? 0o644, uid: meta.uid ?? 0, gid: meta.gid ?? 0 };
    const to = sparse.get(op.path);
    if (src.kind === 'bytes') { yield { dest, src: { bytes: src.data }, ...attrs }; continue; }
    if (!to?.sparse) {
      yield { dest, src: { file: objectFile(store, src.sha256), size: sizes.get(src.sha256)! }, ...attrs };
      continue;
    }
    const dir = await mkdtemp(join(tmpdir(), 'understudy-sparse-'));
    const sent = () => rm(dir, { recursive: true, force: true });
    let handed = false; // once taken, the stager removes it (when sent); before that, it goes here
    try {
      const file = join(dir, 'content');
      await writeEntryContent(store, to, file).catch((e: unknown) => { throw storeCorrupt(src.sha256, op.path, e); });
      const f: StageFile = { dest, src: { file, size: (await stat(file)).size }, ...attrs, sent };
      handed = true;
      yield f;
    } finally { if (!handed) await sent(); }
  }
}

export interface TxStats {
  txid: string;
  outcome: 'committed' | 'aborted';
  files: number;
  bytesSent: number;
  seconds: number;
  /** First rename -> journal commit (or -> abort when undone). */
  windowSeconds: number;
  error?: string;
  /** Where the time went: the drift probe and plan before the transaction, then its own phases (the window is inside agentSeconds). */
  phases?: { driftSeconds?: number; planSeconds: number; stageSeconds: number; agentPrepSeconds?: number; agentSeconds: number };
  /** How many mutating steps the agent took (fault tests pick kill points below it). */
  agentSteps?: number;
  /** Which of the agent's paths ran on the host: 'perl' (in-process renames) or 'sh' (see agent.sh). */
  agentPath?: 'perl' | 'sh';
}

export interface TxInput {
  host: SwapHost;
  store: string;
  record: Omit<SwapRecord, 'areas' | 'undo' | 'changes' | 'parentTimes' | 'rejoin'>;
  changes: Change[];
  /** path -> a name that keeps the path's old inode in the tree (see PlanHeader.rejoin). */
  rejoin?: Record<string, string>;
  parents: PlanInput['parents'];
  /** Extra environment for the agent (tests: UNDERSTUDY_AGENT_KILL_AT). */
  agentEnv?: Record<string, string>;
}

/** Free space needed per area: staged bytes plus room for directory entries and the journal. */
const SLACK = 16 << 20;

export async function runTransaction(t: TxInput): Promise<TxStats> {
  const started = performance.now();
  const { host, store, record } = t;
  // the caller's planning is done (and only its changes live on): its garbage goes before the plan is built
  collectGarbage();
  const plan = buildPlan({ changes: t.changes, parents: t.parents, mounts: record.mounts });
  collectGarbage(); // and the plan's own making (its sort keys), before it is written out
  const areas = record.mounts.map((m) => host.areaDir(m, record.txid));
  // every object the plan sends is in the store, checked before anything is written to the host (a stat
  // each, in this thread: a release upgrade sends tens of thousands); their sizes serve the staging
  const sizes = new Map<string, number>();
  for (const op of plan.ops) {
    if (op.kind !== 'put' || op.stage.type !== 'file' || op.stage.source.kind !== 'store') continue;
    const { sha256 } = op.stage.source;
    if (sizes.has(sha256)) continue;
    try { sizes.set(sha256, statSync(objectFile(store, sha256)).size); } catch (e) { throw storeCorrupt(sha256, op.path, e); }
  }

  const short: Array<{ filesystem: string; needBytes: number; freeBytes: number }> = [];
  for (let i = 0; i < areas.length; i++) {
    const need = plan.bytesToStage[i]! + SLACK;
    const free = await host.freeBytes(dirname(areas[i]!));
    if (plan.bytesToStage[i]! > 0 && free < need) short.push({ filesystem: '/' + record.mounts[i]!, needBytes: need, freeBytes: free });
  }
  if (short.length) {
    throw new UnderstudyError('no-space', 'not enough free space to stage the swap: '
      + short.map((s) => `${s.filesystem} needs ${s.needBytes} bytes, has ${s.freeBytes}`).join('; '), { filesystems: short });
  }

  const undo = new Map<string, UndoSlot>();
  for (const op of plan.ops) {
    if ((op.kind === 'put' || op.kind === 'link' || op.kind === 'del' || op.kind === 'mkdir') && !undo.has(op.path)) undo.set(op.path, { n: op.n, area: op.area });
  }
  const parentTimes: Record<string, string> = {};
  for (const [p, v] of t.parents) if (v) parentTimes[p] = v.now.mtimeNs;
  const rejoin = Object.entries(t.rejoin ?? {}).filter(([p]) => undo.has(p));
  // the perl path renames object by object: its objects need no directory each
  const layout: PlanHeader['layout'] = (await host.installAgent(t.agentEnv)) === 'perl' ? 'flat' : 'dirs';
  const full: SwapRecord = {
    ...record, areas, parentTimes, ...(rejoin.length ? { rejoin: Object.fromEntries(rejoin) } : {}),
    changes: t.changes, // (written with their undo slots, one at a time: saveRecord)
  };
  // The plan goes down before anything else of the transaction, and with its directory (a transaction
  // directory always holds its plan): an orchestrator that dies from here on leaves a transaction
  // recovery can see (plan, no journal -> nothing was renamed: the staging is dropped).
  await host.createTx(record.txid, planChunks({ txid: record.txid, kind: record.kind, areas, layout, rejoin: rejoin.map(([path, q]) => ({ ...undo.get(path)!, path: q })) }, plan.ops));
  await saveRecord(host, store, full, (path) => undo.get(path));
  const txDir = join(host.work, 'tx', record.txid);
  for (const a of areas) { await host.mkdirp(join(a, 'stage')); await host.mkdirp(join(a, 'undo')); }

  const tStage = performance.now();
  // one stream on shell hosts, not a round trip or two per file; durable once the agent's sync before its
  // journal's 'planned' line (the barrier) has run, as when each file went on its own
  const bytesSent = await host.stageFiles(stagedObjects(store, plan, areas, t.changes, layout, sizes));

  const tAgent = performance.now();
  const r = await host.agent(['apply', host.root, host.work, record.txid, ...(host.kind === 'dir' ? [] : ['--unit'])], t.agentEnv);
  const outcome = /^result committed$/m.test(r.stdout) ? 'committed' : /^result aborted$/m.test(r.stdout) ? 'aborted' : undefined;
  if (r.code === 75) throw new UnderstudyError('io', `another understudy agent is working on ${host.target} (${r.stderr.trim()}); try again when it is done`);
  if (outcome) await saveStoreOutcome(store, { ...full, outcome });
  if (!outcome) {
    throw new UnderstudyError('needs-recovery', `the host agent stopped without finishing (exit ${r.code}): ${r.stderr.trim().slice(-500)}; run 'understudy recover ${host.target}'`, { txid: record.txid });
  }
  const journal = (await host.readText(join(txDir, 'journal'))) ?? '';
  const begin = Number(/^begin (\S+)$/m.exec(journal)?.[1]);
  const end = Number(/^(?:commit|aborted) (\S+)/m.exec(journal)?.[1]);
  const prepStart = Number(/^prep-start (\S+)$/m.exec(r.stdout)?.[1]);
  const files = plan.ops.filter((o) => o.kind !== 'meta' || !t.parents.has(o.path)).length;
  return {
    txid: record.txid, outcome, files, bytesSent,
    seconds: (performance.now() - started) / 1000,
    windowSeconds: Number.isFinite(begin) && Number.isFinite(end) ? Math.max(0, end - begin) : 0,
    phases: {
      planSeconds: (tStage - started) / 1000,
      stageSeconds: (tAgent - tStage) / 1000,
      agentPrepSeconds: Number.isFinite(begin) && Number.isFinite(prepStart) ? begin - prepStart : undefined,
      agentSeconds: (performance.now() - tAgent) / 1000,
    },
    ...(outcome === 'aborted' ? { error: r.stderr.trim().slice(-1000) } : {}),
    ...(/^steps (\d+)$/m.test(r.stdout) ? { agentSteps: Number(/^steps (\d+)$/m.exec(r.stdout)![1]) } : {}),
    ...(/^path (perl|sh)$/m.test(r.stdout) ? { agentPath: /^path (perl|sh)$/m.exec(r.stdout)![1] as 'perl' | 'sh' } : {}),
  };
}
