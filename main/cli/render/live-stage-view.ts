// The TTY view of a run: a live stage list (one cli-progress bar per stage, drawn from our pure stage
// lines) with command output scrolling above it.
import { MultiBar, type SingleBar } from 'cli-progress';
import type { RunnerEvent } from '../../app/runs/runner.ts';
import { stageLine, type StageRow } from './stage-line.ts';

export class LiveStageView {
  private readonly bars: MultiBar;
  private readonly rows = new Map<string, { row: StageRow; bar: SingleBar }>();

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.bars = new MultiBar({
      format: (_o, _p, payload: { row: StageRow }) => stageLine(payload.row, Date.now()),
      hideCursor: true, gracefulExit: false, clearOnComplete: false, fps: 8, stream,
    });
  }

  onEvent = (e: RunnerEvent): void => {
    switch (e.type) {
      case 'stage': {
        const existing = this.rows.get(e.stage);
        const row: StageRow = {
          stage: e.stage, state: e.state, startedAtMs: e.state === 'active' ? Date.parse(e.at) : existing?.row.startedAtMs ?? Date.parse(e.at),
          ...(e.seconds !== undefined ? { seconds: e.seconds } : {}), ...(e.error ? { error: e.error.message } : {}),
          ...(e.note ? { note: e.note } : {}),
        };
        if (existing) { existing.row = row; existing.bar.update(0, { row }); } else this.rows.set(e.stage, { row, bar: this.bars.create(1, 0, { row }) });
        break;
      }
      case 'progress': {
        const r = this.rows.get(e.stage);
        if (r) { r.row = { ...r.row, progress: e }; r.bar.update(0, { row: r.row }); }
        break;
      }
      case 'log':
        this.bars.log(`  [${e.source}] ${e.text.replace(/\n+$/, '')}\n`);
        break;
      case 'result':
        this.stop();
        break;
    }
  };

  stop(): void { this.bars.stop(); }
}
