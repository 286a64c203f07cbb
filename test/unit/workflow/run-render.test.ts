// Stage lines, plain (non-TTY) run output and the live TTY stage list.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { stageLine } from '../../../main/cli/render/stage-line.ts';
import { plainRunLines } from '../../../main/cli/render/plain-run-lines.ts';
import { LiveStageView } from '../../../main/cli/render/live-stage-view.ts';
import type { RunnerEvent } from '../../../main/app/runs/runner.ts';

const at = '2026-11-25T22:00:00.000Z';
const t0 = Date.parse(at);

describe('stage lines', () => {
  it('shows done, failed, cancelled and active (elapsed or progress)', () => {
    assert.equal(stageLine({ stage: 'capturing', state: 'done', startedAtMs: t0, seconds: 3.24 }, t0), '✓ capturing    3.2s');
    assert.equal(stageLine({ stage: 'checking', state: 'failed', startedAtMs: t0, seconds: 75, error: 'check failed' }, t0), '✗ checking     1m15s  check failed');
    assert.equal(stageLine({ stage: 'booting', state: 'cancelled', startedAtMs: t0, seconds: 1 }, t0), '■ booting      1.0s  cancelled');
    assert.equal(stageLine({ stage: 'booting', state: 'active', startedAtMs: t0 }, t0 + 12_000), '▸ booting      12s');
    assert.equal(stageLine({ stage: 'capturing', state: 'active', startedAtMs: t0, progress: { stage: 'capturing', current: 1e9, total: 2e9 } }, t0),
      '▸ capturing    ████░░░░ 1.0 GB / 2.0 GB');
  });
});

describe('plain run lines', () => {
  it('prints stage changes and logs, and throttles progress per stage', () => {
    const lines: string[] = [];
    let now = 0;
    const on = plainRunLines((l) => lines.push(l), { progressEveryMs: 1000, now: () => now });
    const ev: RunnerEvent[] = [
      { type: 'stage', run: 'r', stage: 'capturing', state: 'active', at },
      { type: 'progress', run: 'r', stage: 'capturing', current: 1e6, total: 4e6 },
      { type: 'progress', run: 'r', stage: 'capturing', current: 2e6, total: 4e6 },
    ];
    ev.forEach(on);
    now = 1500;
    on({ type: 'progress', run: 'r', stage: 'capturing', current: 3e6, total: 4e6 });
    on({ type: 'log', run: 'r', stream: 'stdout', source: 'upgrade', text: 'Setting up hello-service (2.0)', at });
    on({ type: 'stage', run: 'r', stage: 'capturing', state: 'done', at, seconds: 2 });
    on({ type: 'stage', run: 'r', stage: 'checking', state: 'failed', at, seconds: 1, error: { code: 'check-failed', message: 'curl failed' } });
    assert.deepEqual(lines, [
      'capturing ...',
      'capturing  ██░░░░░░ 1.0 MB / 4.0 MB',
      'capturing  ██████░░ 3.0 MB / 4.0 MB',
      '  [upgrade] Setting up hello-service (2.0)',
      'capturing done (2.0s)',
      'checking failed: curl failed',
    ]);
  });
});

describe('live stage view', () => {
  it('draws the stage list on a TTY and prints logs above it', async () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 100, rows: 30, cursorTo() { return true; }, moveCursor() { return true; }, clearLine() { return true; }, clearScreenDown() { return true; } });
    let text = '';
    tty.on('data', (d: Buffer) => { text += d.toString(); });
    const view = new LiveStageView(tty as unknown as NodeJS.WriteStream);
    view.onEvent({ type: 'stage', run: 'r', stage: 'preflight', state: 'active', at });
    view.onEvent({ type: 'stage', run: 'r', stage: 'preflight', state: 'done', at, seconds: 0.4 });
    view.onEvent({ type: 'stage', run: 'r', stage: 'capturing', state: 'active', at });
    view.onEvent({ type: 'progress', run: 'r', stage: 'capturing', current: 5e8, total: 1e9, bytesPerSec: 1e8 });
    view.onEvent({ type: 'log', run: 'r', stream: 'info', source: 'runner', text: 'hello', at });
    await new Promise((r) => setTimeout(r, 300));
    view.stop();
    assert.match(text, /✓ preflight    0\.4s/);
    assert.match(text, /▸ capturing    ████░░░░ 500 MB \/ 1\.0 GB {2}100 MB\/s {2}ETA 5s/);
    assert.match(text, /\[runner\] hello/);
  });
});
