// `understudy demo [--headless]`: the built-in demo host story. Headless: the whole story in the terminal
// (1.0 -> 2.0 upgraded; 2.0 -> 3.0 caught in the sandbox; rollback to 1.0) with each step's outcome,
// version and seconds. Without --headless: the demo host boots and the UI opens on it (see `ui`).
import type { Verb } from '../verb.ts';
import { printResult } from '../output.ts';
import { runDemoStory, type DemoStep } from '../../app/demo/demo-story.ts';
import { runOutput } from '../render/run-output.ts';
import { demoInUi } from './demo-ui.ts';
import { parsePort } from './serve.ts';

function human(r: Record<string, unknown>): string {
  const steps = r.steps as DemoStep[];
  return ['demo story on ' + String(r.target), ...steps.map((s) =>
    `  ${s.name.padEnd(22)} ${s.outcome.padEnd(13)} host version ${s.version.padEnd(5)} ${s.seconds.toFixed(0)} s`
    + (s.hostUnchanged === undefined ? '' : s.hostUnchanged ? '  (host untouched)' : '  (HOST CHANGED)'))].join('\n');
}

export const demoVerb: Verb = {
  name: 'demo',
  summary: 'the built-in demo host story: demo [--headless]',
  configure: (c) => c.option('--headless', 'run the whole story in the terminal instead of the UI')
    .option('--port <n>', 'port for the UI (default: a free one)'),
  async run(rt, _args, opts) {
    parsePort(opts.port); // a bad --port is a usage error before any VM boots, headless or not
    if (!opts.headless) return demoInUi(rt, opts);
    const view = runOutput(rt.out);
    try {
      const r = await runDemoStory({ store: rt.store, signal: rt.signal, onEvent: view.listener, log: rt.out.info });
      printResult(rt.out, { steps: r.steps, target: r.target }, human);
      const expected = ['upgraded', 'check-failed', 'rolled-back'];
      return r.steps.every((s, i) => s.outcome === expected[i]) ? 0 : 1;
    } finally {
      view.stop();
    }
  },
};
