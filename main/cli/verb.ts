// What a verb module provides. Each verb lives in its own file under verbs/ and is listed in verbs/index.ts.
import type { Command } from 'commander';
import type { Output } from './output.ts';

export interface VerbRuntime {
  out: Output;
  /** Resolved store directory (--store, $UNDERSTUDY_STORE, $XDG_DATA_HOME/understudy). */
  store: string;
  /** Set when the verb finished; the value becomes the process exit code. */
  exit(code: number): void;
  /** Aborted on SIGINT/SIGTERM: pass it to every long operation so Ctrl-C really stops work. */
  signal: AbortSignal;
}

export interface Verb {
  name: string;
  /** One-line summary for --help. */
  summary: string;
  /** Adds arguments and options to the sub-command (common --store/--json are added by main). */
  configure(cmd: Command): Command;
  /** Runs the verb; returns the exit code. Throw UnderstudyError for failures. */
  run(rt: VerbRuntime, args: string[], opts: Record<string, any>): Promise<number>;
}
