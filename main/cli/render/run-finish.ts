// The last output of a run-driving verb: the contract's result line (ok:false with {code,message} unless the
// outcome is upgraded/rehearsed) and the outcome's exit code.
import type { RunFinish } from '../../app/runs/runner.ts';
import type { Output } from '../output.ts';

export function printRunFinish(out: Output, f: RunFinish, stdout: NodeJS.WritableStream = process.stdout,
  stderr: NodeJS.WritableStream = process.stderr): number {
  const ok = f.exitCode === 0;
  const { error, ...rest } = f.result;
  if (out.json) {
    stdout.write(JSON.stringify({ type: 'result', ok, ...rest, ...(error ? { error } : {}) }) + '\n');
    return f.exitCode;
  }
  const took = Object.values(f.result.timings).reduce((a, b) => a + b, 0);
  const line = `run ${f.result.run}: ${f.outcome}${error ? ` (${error.stage}: ${error.message})` : ''}  ${took.toFixed(1)}s of stage time`;
  (ok ? stdout : stderr).write(line + '\n');
  return f.exitCode;
}
