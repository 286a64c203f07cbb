// CLI output: human text by default; with --json, NDJSON events on stdout and, always last, one
// {"type":"result"} line (also on failure, with ok:false and {code,message}).
import { exitCodeFor, isUnderstudyError, type ErrorCode } from '../core/domain/errors.ts';

export interface Output {
  json: boolean;
  /** A progress/stage/log event, or a batch's groups (NDJSON in --json mode; humans get it through `info`). */
  event(e: { type: 'progress' | 'stage' | 'log' | 'groups'; run?: string; [k: string]: unknown }): void;
  /** Human-only text line (suppressed in --json mode, written to stderr so stdout stays clean). */
  info(line: string): void;
}

export function makeOutput(json: boolean): Output {
  return {
    json,
    event(e) {
      // the contract's event shape names the run; verbs that are not workflow runs (capture, verify...) say null
      if (json) process.stdout.write(JSON.stringify({ ...e, run: e.run ?? null }) + '\n');
    },
    info(line) {
      if (!json) process.stderr.write(line + '\n');
    },
  };
}

export function printResult(out: Output, result: Record<string, unknown>, human: (r: Record<string, unknown>) => string): void {
  if (out.json) process.stdout.write(JSON.stringify({ type: 'result', ok: true, ...result }) + '\n');
  else process.stdout.write(human(result) + (human(result).endsWith('\n') ? '' : '\n'));
}

/** Prints the failure and returns the contract's exit code. */
export function printFailure(out: Output, err: unknown, extra: Record<string, unknown> = {}): number {
  const code: ErrorCode = isUnderstudyError(err) ? err.code : 'internal';
  const message = err instanceof Error ? err.message : String(err);
  const details = isUnderstudyError(err) ? err.details : undefined;
  if (out.json) {
    process.stdout.write(JSON.stringify({ type: 'result', ok: false, ...extra, ...(details ?? {}), error: { code, message } }) + '\n');
  } else {
    process.stderr.write(`understudy: ${message}\n`);
    if (code === 'internal' && err instanceof Error && err.stack && process.env.UNDERSTUDY_DEBUG) process.stderr.write(err.stack + '\n');
  }
  return exitCodeFor(code);
}
