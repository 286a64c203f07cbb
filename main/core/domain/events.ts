// Events a run emits, shared by the CLI (NDJSON), the run store and every UI transport.

/**
 * Progress of long work: a plain object; `total` absent when unknown. Formatting it is pure
 * (see progress-format.ts).
 */
export interface Progress {
  stage: string;
  step?: string;
  current?: number;
  total?: number;
  bytesPerSec?: number;
  etaSec?: number;
}

export type StageState = 'pending' | 'active' | 'done' | 'failed' | 'skipped' | 'cancelled';

export type RunEvent =
  | { type: 'stage'; run: string; stage: string; state: StageState; at: string; seconds?: number; error?: { code: string; message: string };
      /** Why a stage was skipped (e.g. rebooting: nothing that boots changed). */
      note?: string }
  | ({ type: 'progress'; run: string } & Progress)
  | { type: 'log'; run: string; stream: 'stdout' | 'stderr' | 'serial' | 'info'; source: string; text: string; at: string };
