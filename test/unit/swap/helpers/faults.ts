// Fault injection shared by the bounded CI test and the long fault suite: interrupt a swap or a rollback
// (the agent kills itself at step N, or the orchestrator process is killed -9, alone or with its agent),
// run recover, and demand the tree is exactly map1's or exactly map2's.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { openDirHost } from '../../../../main/adapters/swap/dir-host.ts';
import { swap } from '../../../../main/adapters/swap/swap.ts';
import { rollbackLatest } from '../../../../main/adapters/swap/rollback.ts';
import { recover } from '../../../../main/adapters/swap/recover.ts';
import { isUnderstudyError } from '../../../../main/core/domain/errors.ts';
import { buildTree1, mapOfTree, snapshot, upgradeTree } from './tree.ts';

export interface World {
  base: string; store: string; t1: string;
  map1: ReturnType<typeof mapOfTree>; map2: ReturnType<typeof mapOfTree>;
  snap1: Map<string, string>; snap2: Map<string, string>;
  steps: { swap: number; rollback: number };
  /** How long an orchestrator process takes for a whole swap: kill times are drawn up to a bit past it. */
  childMs: number;
  tally: Record<string, number>;
  n: number;
}

const child = fileURLToPath(new URL('./swap-child.ts', import.meta.url));

export async function makeWorld(agentPath?: AgentPath): Promise<World> {
  const base = mkdtempSync(join(tmpdir(), 'understudy-faults-'));
  const store = join(base, 'store'), t1 = join(base, 't1'), t2 = join(base, 't2');
  buildTree1(t1);
  execFileSync('cp', ['-a', t1, t2]);
  upgradeTree(t2);
  const w: World = { base, store, t1, map1: mapOfTree(t1, store), map2: mapOfTree(t2, store), snap1: snapshot(t1), snap2: snapshot(t2),
    steps: { swap: 0, rollback: 0 }, childMs: 0, tally: {}, n: 0 };
  // one clean run tells how many steps the agent takes: kill points are drawn below that
  const dir = fresh(w);
  const host = await openDirHost(`dir:${dir}`);
  const s = await swap({ host, store, map1: w.map1, map2: w.map2 });
  const r = await rollbackLatest({ host, store });
  if (agentPath) assert.deepEqual([s.agentPath, r.agentPath], [agentPath, agentPath], 'the agent took the path asked for');
  w.steps.swap = s.agentSteps ?? 0;
  w.steps.rollback = r.agentSteps ?? 0;
  drop(dir);
  const started = performance.now();
  const d2 = fresh(w);
  await new Promise<void>((res) => spawn(process.execPath, ['--import', 'tsx', child, 'swap', d2, store, w.map1.id, w.map2.id], { stdio: 'ignore' }).on('exit', () => res()));
  w.childMs = performance.now() - started;
  drop(d2);
  assert.ok(w.steps.swap > 20 && w.steps.rollback > 20, `agent reports its steps (${JSON.stringify(w.steps)})`);
  return w;
}

export const disposeWorld = (w: World) => rmSync(w.base, { recursive: true, force: true });

function fresh(w: World): string {
  const dir = join(w.base, `h${w.n++}`);
  execFileSync('cp', ['-a', w.t1, dir]);
  return dir;
}
function drop(dir: string) {
  rmSync(dir, { recursive: true, force: true });
  rmSync(join(dirname(dir), `.understudy-${basename(dir)}`), { recursive: true, force: true });
}

async function settle(w: World, dir: string, label: string): Promise<void> {
  const host = await openDirHost(`dir:${dir}`);
  const rec = await recover(host);
  const s = snapshot(dir);
  const which = isDeepStrictEqual(s, w.snap1) ? 'old' : isDeepStrictEqual(s, w.snap2) ? 'new' : undefined;
  if (!which) assert.deepEqual(s, w.snap1, `${label}: after recover (${JSON.stringify(rec)}) the tree is neither exactly map1 nor map2`);
  const key = `${label} -> ${which}`;
  w.tally[key] = (w.tally[key] ?? 0) + 1;
  drop(dir);
}

const rand = (n: number) => 1 + Math.floor(Math.random() * n);
const expectStopped = (e: unknown) => { if (!isUnderstudyError(e) || e.code !== 'needs-recovery') throw e; };

/** The agent kills itself (-9) at a random step of a swap. */
export async function agentKillDuringSwap(w: World): Promise<void> {
  const dir = fresh(w);
  const host = await openDirHost(`dir:${dir}`);
  const at = rand(w.steps.swap);
  await swap({ host, store: w.store, map1: w.map1, map2: w.map2, agentEnv: { UNDERSTUDY_AGENT_KILL_AT: String(at) } }).catch(expectStopped);
  await settle(w, dir, 'agent killed in swap');
}

/** The agent kills itself at a random step of a rollback that follows a committed swap. */
export async function agentKillDuringRollback(w: World): Promise<void> {
  const dir = fresh(w);
  const host = await openDirHost(`dir:${dir}`);
  await swap({ host, store: w.store, map1: w.map1, map2: w.map2 });
  const at = rand(w.steps.rollback);
  await rollbackLatest({ host, store: w.store, agentEnv: { UNDERSTUDY_AGENT_KILL_AT: String(at) } }).catch(expectStopped);
  await settle(w, dir, 'agent killed in rollback');
}


/** kill -9 of the orchestrator process (alone, or its whole process group with the agent) at a random time. */
export async function orchestratorKill(w: World, op: 'swap' | 'rollback', group: boolean, maxDelayMs = w.childMs * 1.1): Promise<void> {
  const dir = fresh(w);
  if (op === 'rollback') await swap({ host: await openDirHost(`dir:${dir}`), store: w.store, map1: w.map1, map2: w.map2 });
  const p = spawn(process.execPath, ['--import', 'tsx', child, op, dir, w.store, w.map1.id, w.map2.id],
    { detached: true, stdio: 'ignore' });
  const exited = new Promise<void>((res) => p.on('exit', () => res()));
  await new Promise((res) => setTimeout(res, Math.random() * maxDelayMs));
  try { process.kill(group ? -p.pid! : p.pid!, 'SIGKILL'); } catch { /* already done */ }
  await exited;
  await settle(w, dir, `orchestrator${group ? '+agent' : ''} killed in ${op}`);
}

/** The host agent's two paths (agent.sh): perl where the host has it, POSIX sh elsewhere. */
export type AgentPath = 'perl' | 'sh';

/**
 * Registers the fault tests with these counts (the bounded CI run and the long run differ only here), for
 * one agent path: every agent of the suite, in this process and in the child orchestrators, takes it.
 */
export function faultSuite(n: { agentSwap: number; agentRollback: number; orchestrator: number; atLeast: number }, agentPath: AgentPath): void {
  describe(`agent path: ${agentPath}`, () => faultTests(n, agentPath));
}

function faultTests(n: { agentSwap: number; agentRollback: number; orchestrator: number; atLeast: number }, agentPath: AgentPath): void {
  let w: World;
  const was = process.env.UNDERSTUDY_AGENT_PATH;
  before(async () => {
    process.env.UNDERSTUDY_AGENT_PATH = agentPath;
    w = await makeWorld(agentPath);
  });
  after(() => {
    if (was === undefined) delete process.env.UNDERSTUDY_AGENT_PATH; else process.env.UNDERSTUDY_AGENT_PATH = was;
    if (w) { console.log(`fault tally (${agentPath} path)`, JSON.stringify(w.tally), 'agent steps', JSON.stringify(w.steps)); disposeWorld(w); }
  });
  test(`agent kill -9 at ${n.agentSwap} random steps of a swap -> recover -> exactly old or new`, async () => {
    for (let i = 0; i < n.agentSwap; i++) await agentKillDuringSwap(w);
  });
  test(`agent kill -9 at ${n.agentRollback} random steps of a rollback -> recover -> exactly old or new`, async () => {
    for (let i = 0; i < n.agentRollback; i++) await agentKillDuringRollback(w);
  });
  test(`orchestrator kill -9 (alone and with its agent) at ${n.orchestrator} random moments of swaps and rollbacks -> recover -> exactly old or new`, async () => {
    for (let i = 0; i < n.orchestrator; i++) await orchestratorKill(w, i % 4 < 2 ? 'swap' : 'rollback', i % 2 === 0);
    const total = Object.values(w.tally).reduce((a, b) => a + b, 0);
    assert.ok(total >= n.atLeast, `${total} interruptions, each ended exactly old or new`);
  });
}
