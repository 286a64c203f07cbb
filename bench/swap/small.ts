// The swap bench's "small" case: on a generated tree (1,800 small files and four 24 MB libraries, ~190 MB; the
// upgrade changes 625 paths, 63 MB), swap and rollback on a dir: host, side by side, several rounds
// (each rollback puts map1 back, so the next swap starts from the same host); medians are reported:
//   - swap window (first rename -> journal commit) as a share of the whole swap   (goal <= 10 %)
//   - rollback time vs swap time, each as the operator waits for it: drift probe,
//     records and transaction included on both sides                               (goal <= 1.0x)
//   - bytes sent vs changed content                                                (goal <= 1.1x)
// SWAP_BENCH_ROUNDS sets the rounds (default 3): the machine is shared, one round is noisy.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDirHost } from '../../main/adapters/swap/dir-host.ts';
import { swap, type SwapResult } from '../../main/adapters/swap/swap.ts';
import { rollbackLatest, type RollbackResult } from '../../main/adapters/swap/rollback.ts';
import type { TxStats } from '../../main/adapters/swap/transaction.ts';
import { computeDelta } from '../../main/core/domain/swap-delta.ts';
import { mapOfTree } from '../../test/unit/swap/helpers/tree.ts';

function fill(root: string, seed: string, files: number, bigFiles: number) {
  for (let i = 0; i < files; i++) {
    const d = join(root, 'usr', 'lib', `pkg${i % 40}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `f${i}`), Buffer.concat([Buffer.from(seed), randomBytes(1024 + ((i * 7919) % 96) * 1024)]));
  }
  for (let i = 0; i < bigFiles; i++) writeFileSync(join(root, 'usr', 'lib', `big${i}.so`), randomBytes(24 << 20));
}

const median = (xs: number[]) => { const v = [...xs].sort((a, b) => a - b); return v.length % 2 ? v[v.length >> 1]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2; };
const phaseText = (p: TxStats['phases']) => !p ? '-'
  : `plan ${p.planSeconds.toFixed(2)}, stage ${p.stageSeconds.toFixed(2)}, agent ${p.agentSeconds.toFixed(2)} (prep ${p.agentPrepSeconds?.toFixed(2) ?? '?'})`;

export async function run(): Promise<Record<string, unknown>> {
  const base = mkdtempSync(join(tmpdir(), 'understudy-bench-swap-'));
  try {
    const t1 = join(base, 't1'), t2 = join(base, 't2'), host = join(base, 'host'), store = join(base, 'store');
    fill(t1, 'v1', 1800, 4);
    execFileSync('cp', ['-a', t1, t2]);
    // the "upgrade": rewrites a quarter of the small files, two big libraries, adds 100 files, removes 60
    for (let i = 0; i < 1800; i += 4) writeFileSync(join(t2, 'usr', 'lib', `pkg${i % 40}`, `f${i}`), randomBytes(2048 + (i % 50) * 1024));
    for (let i = 0; i < 2; i++) writeFileSync(join(t2, 'usr', 'lib', `big${i}.so`), randomBytes(24 << 20));
    mkdirSync(join(t2, 'opt', 'new'), { recursive: true });
    for (let i = 0; i < 100; i++) writeFileSync(join(t2, 'opt', 'new', `n${i}`), randomBytes(8192));
    for (let i = 1; i < 240; i += 4) rmSync(join(t2, 'usr', 'lib', `pkg${i % 40}`, `f${i}`));
    const map1 = mapOfTree(t1, store), map2 = mapOfTree(t2, store);
    execFileSync('cp', ['-a', t1, host]);
    execFileSync('sync');
    const delta = computeDelta(map1.manifest, map2.manifest);
    const byPath = new Map(map2.manifest.entries.map((e) => [e.path, e]));
    const changedBytes = [...delta.added, ...delta.changed].reduce((n, p) => n + (byPath.get(p)?.type === 'file' ? byPath.get(p)!.size : 0), 0);

    const h = await openDirHost(`dir:${host}`);
    const rounds = Math.max(1, Number(process.env.SWAP_BENCH_ROUNDS ?? 3));
    const seen: Array<{ swap: SwapResult; swapWall: number; rollback: RollbackResult; rollbackWall: number }> = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      const swapped = await swap({ host: h, store, map1, map2 });
      const swapWall = (performance.now() - t0) / 1000;
      const tRollback = performance.now();
      const rolledBack = await rollbackLatest({ host: h, store });
      const rollbackWall = (performance.now() - tRollback) / 1000;
      seen.push({ swap: swapped, swapWall, rollback: rolledBack, rollbackWall });
      console.log(`  round ${i + 1}: swap ${swapWall.toFixed(2)} s (transaction ${swapped.seconds.toFixed(2)} s, phases ${phaseText(swapped.phases)}), `
        + `rollback ${rollbackWall.toFixed(2)} s (transaction ${rolledBack.seconds.toFixed(2)} s, phases ${phaseText(rolledBack.phases)}) -> ${(rollbackWall / swapWall).toFixed(2)}x`);
    }
    const s = seen[0]!.swap;
    const out = {
      rounds, files: s.files, changedBytes, bytesSent: s.bytesSent,
      swapWallSeconds: median(seen.map((r) => r.swapWall)), rollbackWallSeconds: median(seen.map((r) => r.rollbackWall)),
      swapSeconds: median(seen.map((r) => r.swap.seconds)), rollbackSeconds: median(seen.map((r) => r.rollback.seconds)),
      windowSeconds: median(seen.map((r) => r.swap.windowSeconds)),
      windowShare: median(seen.map((r) => r.swap.windowSeconds / r.swap.seconds)),
      rollbackVsSwap: median(seen.map((r) => r.rollbackWall / r.swapWall)),
      rollbackVsSwapTransactions: median(seen.map((r) => r.rollback.seconds / r.swap.seconds)),
      bytesSentVsChanged: s.bytesSent / changedBytes,
    };
    const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
    console.log(`swap bench: ${delta.items.length} delta paths, ${(changedBytes / 1e6).toFixed(1)} MB changed content, median of ${rounds} round(s)`);
    console.log(`  swap ${out.swapWallSeconds.toFixed(2)} s (transaction ${out.swapSeconds.toFixed(2)} s), window ${out.windowSeconds.toFixed(3)} s -> window share ${pct(out.windowShare)} (goal <= 10 %)`);
    console.log(`  rollback ${out.rollbackWallSeconds.toFixed(2)} s -> rollback/swap ${out.rollbackVsSwap.toFixed(2)}x (goal <= 1.0x; transactions alone ${out.rollbackVsSwapTransactions.toFixed(2)}x)`);
    console.log(`  bytes sent ${(s.bytesSent / 1e6).toFixed(1)} MB -> sent/changed ${out.bytesSentVsChanged.toFixed(3)}x (goal <= 1.1x)`);
    return out;
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

