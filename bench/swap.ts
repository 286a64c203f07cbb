// `npm run bench -- swap [small] [release] [100k]` (default: all three), each on a dir: host:
//   small    a generated tree, 625 changed paths: window share, rollback vs swap, bytes sent (swap/small.ts)
//   release  the real Debian 12 -> 13 delta of a stock minimal root, made by the bench itself
//            (debootstrap + apt in a chroot against this machine's Debian archive; swap/release-trees.sh)
//   100k     a synthetic delta of about 100,000 paths and 2 GB (swap/synthetic-trees.ts)
//   release-ssh  the release delta over SSH onto the demo host VM (boots a VM: not in the default set)
// release and 100k report the swap against the unsafe baseline measured in the same run (tar of the
// changed content into place + rm of the removed paths), the window, rollback vs swap and the
// orchestrator's peak RSS (swap/run-case.ts). Trees, stores and maps are cached in
// ~/.cache/understudy/bench (UNDERSTUDY_BENCH_CACHE); SWAP_BENCH_ROUNDS sets the rounds (default 3).
// UNDERSTUDY_AGENT_PATH=sh measures the agent's POSIX-sh path instead of perl.
import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run as runSmall } from './swap/small.ts';
import { capturedPair, type Pair } from './swap/pair.ts';
import { runCase } from './swap/run-case.ts';
import { runReleaseSsh } from './swap/release-ssh.ts';
import { syntheticTrees } from './swap/synthetic-trees.ts';

const cache = process.env.UNDERSTUDY_BENCH_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'understudy', 'bench');
const rounds = Math.max(1, Number(process.env.SWAP_BENCH_ROUNDS ?? 3));

/** The release trees (built once by release-trees.sh) and their maps. */
async function releasePair(): Promise<{ dir: string; pair: Pair }> {
  const script = fileURLToPath(new URL('./swap/release-trees.sh', import.meta.url));
  const dir = execFileSync('bash', [script, cache], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return { dir, pair: await capturedPair(dir, join(dir, 'bookworm'), join(dir, 'trixie')) };
}

async function release(): Promise<Record<string, unknown>> {
  const { dir, pair } = await releasePair();
  return runCase('release', pair, join(dir, 'run'), { swapVsBaseline: 3, windowSeconds: 1, rollbackVsSwap: 1, maxRssMb: 400 }, rounds);
}

async function synthetic(): Promise<Record<string, unknown>> {
  const t = syntheticTrees(cache);
  const pair = await capturedPair(t.dir, t.t1, t.t2);
  return runCase('100k', pair, join(t.dir, 'run'), { swapVsBaseline: 3, windowSeconds: 3, rollbackVsSwap: 1, maxRssMb: 400 }, rounds);
}

async function releaseSsh(): Promise<Record<string, unknown>> {
  return runReleaseSsh((await releasePair()).pair);
}

const cases: Record<string, () => Promise<Record<string, unknown>>> = { small: runSmall, release, '100k': synthetic, 'release-ssh': releaseSsh };
const byDefault = ['small', 'release', '100k'];

export async function run(args: string[] = []): Promise<Record<string, unknown>> {
  const pick = args.filter((a) => a in cases);
  const out: Record<string, unknown> = {};
  for (const name of pick.length ? pick : byDefault) out[name] = await cases[name]!();
  return out;
}
