// Picks how a run is shown: NDJSON events with --json, the live stage list on a TTY, plain lines otherwise.
// Humans' output goes to stderr so stdout carries only the result.
import type { RunnerEvent } from '../../app/runs/runner.ts';
import type { Output } from '../output.ts';
import { LiveStageView } from './live-stage-view.ts';
import { plainRunLines } from './plain-run-lines.ts';

export interface RunOutput { listener(e: RunnerEvent): void; stop(): void }

export function runOutput(out: Output, stream: NodeJS.WriteStream = process.stderr): RunOutput {
  if (out.json) {
    return { listener: (e) => { if (e.type !== 'result') out.event({ ...e }); }, stop: () => {} };
  }
  if (stream.isTTY) {
    const view = new LiveStageView(stream);
    return { listener: view.onEvent, stop: () => view.stop() };
  }
  return { listener: plainRunLines((line) => stream.write(line + '\n')), stop: () => {} };
}
