// Runs one swap bench case on a dir: host: the unsafe baseline (tar of the changed content into a copy of
// map1's tree plus rm of the removed paths: no journal, no undo, no sync), then rounds of swap and
// rollback, each in a child process of its own (child.ts: the orchestrator's peak RSS). Each rollback
// puts map1 back, so every swap starts from the same host. Medians are reported next to the goals.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMap } from '../../main/adapters/store/map-store.ts';
import { computeDelta } from '../../main/core/domain/swap-delta.ts';
import { planRestart } from '../../main/core/domain/restart-plan.ts';
import { bytesFromKey } from '../../main/core/domain/path-key.ts';
import type { Pair } from './pair.ts';

const child = fileURLToPath(new URL('./child.ts', import.meta.url));

export interface CaseGoals { swapVsBaseline: number; windowSeconds: number; rollbackVsSwap: number; maxRssMb: number }

interface Phases { driftSeconds?: number; planSeconds: number; stageSeconds: number; agentPrepSeconds?: number; agentSeconds: number }
interface ChildOut { wall: number; seconds: number; windowSeconds: number; files: number; bytesSent: number; maxRssMb: number; agentPath?: string; phases?: Phases; outcome: string }

const median = (xs: number[]) => { const v = [...xs].sort((a, b) => a - b); return v.length % 2 ? v[v.length >> 1]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2; };
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const timed = (f: () => void) => { const t0 = performance.now(); f(); return (performance.now() - t0) / 1000; };
const nul = (keys: string[]) => Buffer.concat(keys.flatMap((k) => [Buffer.from(bytesFromKey(k)), Buffer.from([0])]));

function runChild(op: 'swap' | 'rollback', host: string, p: Pair, env: NodeJS.ProcessEnv): ChildOut {
  const r = spawnSync(process.execPath, ['--import', 'tsx', child, op, host, p.store, p.map1, p.map2],
    { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`bench ${op} failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ChildOut;
}

const phaseText = (o: ChildOut) => !o.phases ? '' : `drift+plan ${((o.phases.driftSeconds ?? 0) + o.phases.planSeconds).toFixed(2)}, `
  + `stage ${o.phases.stageSeconds.toFixed(2)}, agent ${o.phases.agentSeconds.toFixed(2)} (prep ${o.phases.agentPrepSeconds?.toFixed(2) ?? '?'}, window ${o.windowSeconds.toFixed(3)})`;

export async function runCase(name: string, p: Pair, work: string, goals: CaseGoals, rounds: number, env: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> {
  const [m1, m2] = [await loadMap(p.store, p.map1), await loadMap(p.store, p.map2)];
  const delta = computeDelta(m1.manifest, m2.manifest);
  const next = new Map(m2.manifest.entries.map((e) => [e.path, e]));
  const changedBytes = [...delta.added, ...delta.changed].reduce((n, k) => n + (next.get(k)?.type === 'file' ? next.get(k)!.size : 0), 0);
  // the restart plan a real host would get for this delta (which units, which binaries, reboot or not)
  const tRestart = performance.now();
  const restart = planRestart([...delta.added, ...delta.changed], 'auto');
  const restartPlanMs = performance.now() - tRestart;
  const loadBefore = loadavg();
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    // the unsafe baseline, on a copy of map1's tree
    const base = join(work, 'base');
    execFileSync('cp', ['-a', '-T', p.t1, base]);
    execFileSync('sync');
    writeFileSync(join(work, 'changed'), nul([...delta.added, ...delta.changed]));
    writeFileSync(join(work, 'removed'), nul(delta.removed));
    const baseline = timed(() => execFileSync('bash', ['-o', 'pipefail', '-c',
      `tar -C ${p.t2} --null --no-recursion -T ${work}/changed --xattrs --xattrs-include='*' -cf - | tar -C ${base} -xpf - --numeric-owner --xattrs --xattrs-include='*'`
      + ` && xargs -0 rm -rf -- < ${work}/removed`]));
    const baselineSync = timed(() => execFileSync('sync', ['-f', base]));
    rmSync(base, { recursive: true, force: true });

    const host = join(work, 'host');
    execFileSync('cp', ['-a', '-T', p.t1, host]);
    execFileSync('sync');
    const seen: Array<{ swap: ChildOut; rollback: ChildOut }> = [];
    for (let i = 0; i < rounds; i++) {
      const swap = runChild('swap', host, p, env);
      const rollback = runChild('rollback', host, p, env);
      if (swap.outcome !== 'committed' || rollback.outcome !== 'committed') throw new Error(`bench ${name}: swap ${swap.outcome}, rollback ${rollback.outcome}`);
      seen.push({ swap, rollback });
      console.log(`  ${name} round ${i + 1} (${swap.agentPath ?? '?'} agent): swap ${swap.wall.toFixed(2)} s [${phaseText(swap)}], `
        + `rollback ${rollback.wall.toFixed(2)} s [${phaseText(rollback)}], RSS ${swap.maxRssMb.toFixed(0)}/${rollback.maxRssMb.toFixed(0)} MB`);
    }
    const out = {
      case: name, agentPath: seen[0]!.swap.agentPath, rounds,
      paths: delta.items.length, added: delta.added.length, changed: delta.changed.length, removed: delta.removed.length, changedBytes,
      baselineSeconds: baseline, baselineSyncSeconds: baselineSync,
      swapSeconds: median(seen.map((r) => r.swap.wall)), windowSeconds: median(seen.map((r) => r.swap.windowSeconds)),
      rollbackSeconds: median(seen.map((r) => r.rollback.wall)), rollbackWindowSeconds: median(seen.map((r) => r.rollback.windowSeconds)),
      maxRssMb: Math.max(...seen.flatMap((r) => [r.swap.maxRssMb, r.rollback.maxRssMb])),
      bytesSent: seen[0]!.swap.bytesSent, load: `${loadBefore} -> ${loadavg()}`,
      restartPlanMs, restartPlan: { reboot: restart.reboot, units: restart.units.length, binaries: restart.binaries.length },
    };
    const ratio = out.swapSeconds / baseline, rb = out.rollbackSeconds / out.swapSeconds;
    const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
    console.log(`swap bench ${name}: ${out.paths} delta paths (${out.added} added, ${out.changed} changed, ${out.removed} removed), `
      + `${(changedBytes / 1e6).toFixed(0)} MB changed content; median of ${rounds}; load ${out.load}`);
    console.log(`  unsafe baseline ${baseline.toFixed(2)} s (+ sync -f ${baselineSync.toFixed(2)} s)`);
    console.log(`  swap ${out.swapSeconds.toFixed(2)} s -> ${ratio.toFixed(2)}x the baseline (goal <= ${goals.swapVsBaseline}x: ${verdict(ratio <= goals.swapVsBaseline)}); `
      + `vs baseline + sync ${(out.swapSeconds / (baseline + baselineSync)).toFixed(2)}x`);
    console.log(`  window ${out.windowSeconds.toFixed(3)} s (goal <= ${goals.windowSeconds} s: ${verdict(out.windowSeconds <= goals.windowSeconds)})`);
    console.log(`  rollback ${out.rollbackSeconds.toFixed(2)} s -> ${rb.toFixed(2)}x the swap (goal <= ${goals.rollbackVsSwap}x: ${verdict(rb <= goals.rollbackVsSwap)}); its window ${out.rollbackWindowSeconds.toFixed(3)} s`);
    console.log(`  orchestrator peak RSS ${out.maxRssMb.toFixed(0)} MB (goal <= ${goals.maxRssMb} MB: ${verdict(out.maxRssMb <= goals.maxRssMb)})`);
    console.log(`  restart plan of the delta: ${restartPlanMs.toFixed(1)} ms (reboot ${restart.reboot}, ${restart.units.length} units, ${restart.binaries.length} binaries)`);
    return { ...out, swapVsBaseline: ratio, rollbackVsSwap: rb };
  } finally {
    rmSync(work, { recursive: true, force: true }); // the host's work area (.understudy-host) is in it too
  }
}
