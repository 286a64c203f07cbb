// Runs the real `understudy` CLI (bin/understudy.mjs, from the repository root) and reads its --json result.
import { spawnSync } from 'node:child_process';

export interface CliRun { status: number | null; stdout: string; stderr: string }

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const r = spawnSync(process.execPath, ['bin/understudy.mjs', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every stdout line parsed; the contract's last line is the result. */
export function jsonLines(r: CliRun): Array<Record<string, any>> {
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
}

export const resultOf = (r: CliRun): Record<string, any> => {
  const last = jsonLines(r).at(-1);
  if (last?.type !== 'result') throw new Error(`last stdout line is not a result: ${r.stdout}\nstderr: ${r.stderr}`);
  return last;
};
