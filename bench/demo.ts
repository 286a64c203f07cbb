// `npm run bench -- demo`: the demo story (host VM, 1.0 -> 2.0 swapped, 3.0 caught, rollback) in this
// process, reporting each step's wall time, each run's time by workflow stage, and the orchestrator's
// peak RSS. No baseline to divide by: these are the story's own figures, for docs/figures.md and regressions.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeEngine } from '../main/app/compose.ts';
import { runDemoStory } from '../main/app/demo/demo-story.ts';
import type { RunnerEvent } from '../main/app/runs/runner.ts';

export async function run(): Promise<Record<string, unknown>> {
  const store = mkdtempSync(join(tmpdir(), 'understudy-bench-demo-'));
  const byRun = new Map<string, Record<string, number>>();
  const onEvent = (e: RunnerEvent) => {
    if (e.type !== 'stage' || e.seconds === undefined || e.state !== 'done') return;
    const t = byRun.get(e.run) ?? {};
    t[e.stage] = Math.round(e.seconds * 10) / 10;
    byRun.set(e.run, t);
  };
  try {
    composeEngine(store);
    const t0 = Date.now();
    const r = await runDemoStory({ store, signal: new AbortController().signal, onEvent });
    const peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
    const stages = Object.fromEntries([...byRun.entries()]);
    console.log('demo story (wall time by step):');
    for (const s of r.steps) console.log(`  ${s.name.padEnd(22)} ${s.outcome.padEnd(13)} ${s.seconds.toFixed(1).padStart(7)} s`);
    for (const [run, t] of byRun) console.log(`  run ${run}: ${Object.entries(t).map(([k, v]) => `${k} ${v}s`).join(', ')}`);
    console.log(`  total ${((Date.now() - t0) / 1000).toFixed(0)} s; orchestrator peak RSS ${peakRssMB} MB`);
    return { steps: r.steps, stages, totalSeconds: (Date.now() - t0) / 1000, peakRssMB };
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
}
