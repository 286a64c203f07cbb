// Run events as plain lines for logs and pipes (no TTY): stage changes, command output, and progress at
// most every `progressEveryMs` per stage so a long capture does not flood the log.
import type { RunnerEvent } from '../../app/runs/runner.ts';
import { formatProgress } from '../../core/domain/progress-format.ts';
import { formatSeconds } from './stage-line.ts';

export function plainRunLines(write: (line: string) => void, opts: { progressEveryMs?: number; now?: () => number } = {}) {
  const every = opts.progressEveryMs ?? 10_000;
  const now = opts.now ?? Date.now;
  const lastProgress = new Map<string, number>();
  return (e: RunnerEvent): void => {
    switch (e.type) {
      case 'stage':
        if (e.state === 'active') write(`${e.stage} ...`);
        else if (e.state === 'done') write(`${e.stage} done${e.seconds !== undefined ? ` (${formatSeconds(e.seconds)})` : ''}`);
        else write(`${e.stage} ${e.state}${e.error ? `: ${e.error.message}` : e.note ? `: ${e.note}` : ''}`);
        break;
      case 'progress': {
        const t = now();
        const last = lastProgress.get(e.stage);
        if (last !== undefined && t - last < every) return;
        lastProgress.set(e.stage, t);
        write(formatProgress(e));
        break;
      }
      case 'log':
        write(`  [${e.source}] ${e.text}`);
        break;
      case 'result':
        break;
    }
  };
}
