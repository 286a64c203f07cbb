// The last output of a run-driving verb: the contract's result line (ok:false with {code,message} unless the
// outcome is upgraded/rehearsed) and the outcome's exit code.
import type { RunFinish } from '../../app/runs/runner.ts';
import type { Output } from '../output.ts';
import { keptBackLines } from './kept-back-lines.ts';

export function printRunFinish(out: Output, f: RunFinish, stdout: NodeJS.WritableStream = process.stdout,
  stderr: NodeJS.WritableStream = process.stderr): number {
  const ok = f.exitCode === 0;
  const { error: given, ...rest } = f.result;
  // the contract: a failed run's result line always carries {code, message}, even if the workflow set none
  const error = given ?? (ok ? undefined : { code: f.outcome, message: `the run ended ${f.outcome}` });
  if (out.json) {
    stdout.write(JSON.stringify({ type: 'result', ok, ...rest, ...(error ? { error } : {}) }) + '\n');
    return f.exitCode;
  }
  const took = Object.values(f.result.timings).reduce((a, b) => a + b, 0);
  const line = `run ${f.result.run}: ${f.outcome}${given ? ` (${given.stage}: ${given.message})` : ''}  ${took.toFixed(1)}s of stage time`;
  (ok ? stdout : stderr).write(line + '\n');
  for (const l of keptBackLines(f.result.keptBack ?? [])) (ok ? stdout : stderr).write(l + '\n');
  return f.exitCode;
}
