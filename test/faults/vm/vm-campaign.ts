// Randomized faults on the demo host VM, one boot for the whole campaign: the agent kills itself (-9) at
// a random journal step, the orchestrator (a child process) is killed -9 at a random moment, or the VM's
// power is cut (QMP quit) at a random agent step and the same disk boots again — each during a swap or a
// rollback. After recover the host must be exactly map1 or exactly map2 (every path the swap touches,
// probed with the swap's own probe and every file hashed), no transaction left open, nothing staged.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Entry } from '../../../main/core/domain/manifest.ts';
import { compareKeys } from '../../../main/core/domain/path-key.ts';
import { computeDelta, parentKey } from '../../../main/core/domain/swap-delta.ts';
import { sameEntry } from '../../../main/core/domain/swap-entry.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';
import { HOST_WORK } from '../../../main/adapters/swap/ssh-host.ts';
import { swap } from '../../../main/adapters/swap/swap.ts';
import { rollbackLatest } from '../../../main/adapters/swap/rollback.ts';
import { recover } from '../../../main/adapters/swap/recover.ts';
import type { TxStats } from '../../../main/adapters/swap/transaction.ts';
import { bootOverlay, powerOff, type VmWorld } from './vm-world.ts';

export type Op = 'swap' | 'rollback';
export type State = 'old' | 'new';

export interface Campaign {
  w: VmWorld;
  rand: () => number;
  state: State;
  /** Path keys a swap touches (delta + parents) and the recovery unit's: compared after every fault. */
  paths: string[];
  want: Record<State, Map<string, Entry>>;
  steps: Record<Op, number>;
  /** How many of those steps come before the plan is journaled 'planned' (staging, no rename yet). */
  prepSteps: Record<Op, number>;
  cuts: number;
  /** How long a whole swap / rollback takes: a child orchestrator's kill moment is drawn below it. */
  childMs: Record<Op, number>;
  tally: Record<string, number>;
  seconds: Record<string, number>;
}

const UNIT = 'etc/systemd/system/understudy-recover.service';
const WANTS = 'etc/systemd/system/sysinit.target.wants';
/** Transactions neither committed nor aborted, as 'TXID STATE plan|noplan' lines. */
const openTxs = `cd ${HOST_WORK} && for d in tx/*/; do [ -d "$d" ] || continue; id=$(basename "$d"); s=$(sh agent.sh status ${HOST_WORK} "$id"); `
  + 'p=noplan; [ -f "$d/plan" ] && p=plan; case $s in committed|aborted) ;; *) echo "$id $s $p" ;; esac; done';
const child = fileURLToPath(new URL('./ssh-swap-child.ts', import.meta.url));

/** mulberry32: a seeded stream, so a failing campaign replays with UNDERSTUDY_FAULT_SEED. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function newCampaign(w: VmWorld, rand: () => number): Campaign {
  const delta = computeDelta(w.map1.manifest, w.map2.manifest);
  const paths = new Set(delta.items.map((i) => i.path));
  for (const i of delta.items) { const p = parentKey(i.path); if (p !== null) paths.add(p); }
  for (const p of ['etc/systemd/system', WANTS, UNIT, `${WANTS}/understudy-recover.service`]) paths.add(p);
  const index = (es: Entry[]) => new Map(es.filter((e) => paths.has(e.path)).map((e) => [e.path, e]));
  return { w, rand, state: 'old', paths: [...paths].sort(compareKeys), want: { old: index(w.map1.manifest.entries), new: index(w.map2.manifest.entries) },
    steps: { swap: 0, rollback: 0 }, prepSteps: { swap: 0, rollback: 0 }, cuts: 0, childMs: { swap: 0, rollback: 0 }, tally: {}, seconds: {} };
}

const count = (c: Campaign, key: string, seconds?: number) => {
  c.tally[key] = (c.tally[key] ?? 0) + 1;
  if (seconds !== undefined) c.seconds[key] = (c.seconds[key] ?? 0) + seconds;
};

/** Which map the host is now, or a failed assertion naming the paths that are neither. */
export async function check(c: Campaign, label: string): Promise<State> {
  const now = await c.w.host.probe({ paths: c.paths }); // no `expected`: every file hashed
  const off = (s: State) => c.paths.filter((p) => {
    const a = now.get(p) ?? null, b = c.want[s].get(p) ?? null;
    return a && b ? !sameEntry(a, b) : a !== b;
  });
  const [toOld, toNew] = [off('old'), off('new')];
  assert.ok(toOld.length === 0 || toNew.length === 0,
    `${label}: neither map1 nor map2 — differs from map1 in ${toOld.slice(0, 6).join(', ')}; from map2 in ${toNew.slice(0, 6).join(', ')}`);
  // every transaction finished or undone, nothing staged, the lock and the boot unit gone
  const left = (await c.w.sh.run(`${openTxs}; ls -d tx/*/a0/stage lock /${UNIT} /${WANTS}/understudy-recover.service 2>/dev/null; true`))
    .stdout.split('\n').filter(Boolean);
  assert.deepEqual(left, [], `${label}: left behind on the host`);
  const state: State = toOld.length === 0 ? 'old' : 'new';
  const served = (await c.w.sh.run('curl -fsS http://127.0.0.1:8080/version')).stdout.trim();
  assert.equal(served, state === 'old' ? '1.0' : '2.0', `${label}: the service answers like its map`);
  c.state = state;
  return state;
}

const pick = (c: Campaign, n: number) => 1 + Math.floor(c.rand() * n);
const run = (c: Campaign, op: Op, agentEnv?: Record<string, string>): Promise<TxStats> => op === 'swap'
  ? swap({ host: c.w.host, store: c.w.store, map1: c.w.map1, map2: c.w.map2, agentEnv })
  : rollbackLatest({ host: c.w.host, store: c.w.store, agentEnv });
/** The op the host is ready for: a swap from map1, a rollback of the committed swap from map2. */
export const nextOp = (c: Campaign): Op => (c.state === 'old' ? 'swap' : 'rollback');

/** A clean swap or rollback: the host moves to the other map (before a fault needs it there). */
async function clean(c: Campaign, op: Op): Promise<void> {
  const trace = `${HOST_WORK}/.trace`;
  await c.w.sh.run(`rm -f ${trace}`);
  const t0 = performance.now();
  const r = await run(c, op, { UNDERSTUDY_AGENT_TRACE: trace });
  c.childMs[op] = performance.now() - t0;
  c.prepSteps[op] = Number((await c.w.sh.run(`grep -c ' prep$' ${trace}; rm -f ${trace}`)).stdout.trim());
  assert.equal(r.outcome, 'committed');
  assert.equal(await check(c, `clean ${op}`), op === 'swap' ? 'new' : 'old');
  c.steps[op] = r.agentSteps ?? 0;
}

async function settle(c: Campaign, kind: string, op: Op, t0: number): Promise<State> {
  const recovered = await recover(c.w.host);
  const s = await check(c, `${kind} in ${op} (recover: ${JSON.stringify(recovered)})`);
  count(c, `${kind} in ${op} -> ${s}`, (performance.now() - t0) / 1000);
  return s;
}

/** A clean swap or rollback when the host is not ready for op (a swap needs map1, a rollback map2). */
export async function readyFor(c: Campaign, op: Op): Promise<void> {
  if (nextOp(c) !== op) await clean(c, op === 'swap' ? 'rollback' : 'swap');
}

/** After a campaign that ended at map2: a clean rollback. */
export async function backToMap1(c: Campaign): Promise<void> {
  if (c.state === 'new') await run(c, 'rollback');
  assert.equal(await check(c, 'back to map1'), 'old');
}

/** Agent steps of a clean swap and rollback, and how long each takes (kill moments are drawn below it). */
export async function calibrate(c: Campaign): Promise<void> {
  await clean(c, 'swap');
  await clean(c, 'rollback');
  for (const op of ['swap', 'rollback'] as const) {
    assert.ok(c.steps[op] > 10 && c.prepSteps[op] > 0 && c.prepSteps[op] < c.steps[op], `the agent reports its steps (${JSON.stringify([c.steps, c.prepSteps])})`);
  }
}

/** Runs ssh-swap-child.ts; kills it -9 killAfterMs after it opened the host. */
async function orchestrate(c: Campaign, op: Op, killAfterMs: number): Promise<{ finished: boolean; killed: boolean; code: number | null; stderr: string }> {
  const { w } = c;
  const p = spawn(process.execPath, ['--import', 'tsx', child, op, w.target, w.store, w.map1.id, w.map2.id, w.image.privateKeyPath],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', stderr = '', opened = false, killed = false, timer: NodeJS.Timeout | undefined;
  p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (!opened && out.includes('opened\n')) {
      opened = true;
      if (Number.isFinite(killAfterMs)) timer = setTimeout(() => { killed = p.kill('SIGKILL'); }, killAfterMs);
    }
  });
  const code = await new Promise<number | null>((res) => p.on('close', (n) => res(n)));
  clearTimeout(timer);
  return { finished: out.includes('finished\n'), killed, code, stderr };
}

const expectStopped = (e: unknown) => { if (!isUnderstudyError(e) || e.code !== 'needs-recovery') throw e; };

/** The agent kills itself (-9) at a random one of its mutating steps. */
export async function agentKill(c: Campaign, op: Op): Promise<State> {
  const t0 = performance.now();
  const at = pick(c, c.steps[op]);
  await run(c, op, { UNDERSTUDY_AGENT_KILL_AT: String(at) }).then(() => assert.fail(`the agent ran past step ${at}`), expectStopped);
  return settle(c, 'agent kill -9', op, t0);
}

/** kill -9 of the orchestrator process at a random moment of its swap or rollback (its agent runs on). */
export async function orchestratorKill(c: Campaign, op: Op): Promise<State> {
  const t0 = performance.now();
  const r = await orchestrate(c, op, c.rand() * c.childMs[op]);
  assert.ok(r.killed || r.finished, `the child orchestrator failed by itself (exit ${r.code}): ${r.stderr.slice(-800)}`);
  return settle(c, `orchestrator kill -9${r.finished ? ' (after it finished)' : ''}`, op, t0);
}

/**
 * Power cut (QMP quit) while the agent waits at a random step, then the same disk boots again. Every
 * other cut (the first included) lands inside the swap window, after 'planned', where renames happen.
 */
export async function powerCut(c: Campaign, op: Op): Promise<State> {
  const t0 = performance.now();
  const { w } = c;
  await w.sh.run(`rm -f ${HOST_WORK}/.paused`);
  const at = c.cuts++ % 2 === 0 ? c.prepSteps[op] + pick(c, c.steps[op] - c.prepSteps[op]) : pick(c, c.steps[op]);
  const running = run(c, op, { UNDERSTUDY_AGENT_PAUSE_AT: String(at) }).then(() => 'finished', (e: unknown) => e);
  let ended: unknown;
  void running.then((r) => { ended = r; });
  const deadline = Date.now() + 5 * 60_000;
  while ((await w.sh.run(`test -e ${HOST_WORK}/.paused`)).exitCode !== 0) {
    assert.ok(ended === undefined, `the ${op} ended before the agent paused at step ${at}: ${String(ended)}`);
    assert.ok(Date.now() < deadline, `the agent never paused at step ${at}`);
    await sleep(300);
  }
  // the transaction under way is the one neither committed nor aborted: 'prepared' (staging) or 'planned'
  const before = (await w.sh.run(openTxs)).stdout.trim().split(/\s+/);
  assert.equal(before.length, 3, `one transaction is under way: ${before.join(' ')}`);
  const [txid, phase] = before as [string, string, string];
  await powerOff(w);
  assert.notEqual(await running, 'finished', `the ${op} went on after the power cut`);
  const bootSeconds = await bootOverlay(w);
  // once 'planned' (durable, with the boot unit installed) the boot unit finishes or undoes it before anyone logs in
  const atBoot = (await w.sh.run(`sh ${HOST_WORK}/agent.sh status ${HOST_WORK} ${txid}`)).stdout.trim();
  if (phase === 'planned') assert.match(atBoot, /^(committed|aborted)$/, `power cut at step ${at} after 'planned': the boot unit resolved ${txid}`);
  const s = await settle(c, `power cut (${phase === 'planned' ? 'swap window' : 'staging'}; at boot: ${atBoot})`, op, t0);
  count(c, 'reboot seconds', bootSeconds);
  return s;
}
