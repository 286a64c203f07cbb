// The whole demo story against the real demo host VM, through the real CLI: 1.0 -> 2.0 upgraded through
// the sandbox and swapped over SSH (health ok); 2.0 -> 3.0 caught by its check in the sandbox with the
// host untouched; rollback to 1.0. Then nothing is left running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { qemuProcessesMentioning } from '../../main/adapters/sandbox/leak-check.ts';

// A stalled story fails within the test's timeout (each of its stages also has its own); the CLI and the VMs
// it started are stopped with the test.
test('understudy demo --headless --json tells the whole story on a real host VM', { timeout: 25 * 60_000 }, async (t) => {
  const store = mkdtempSync(join(tmpdir(), 'understudy-demo-story-'));
  try {
    const child = spawn(process.execPath, ['bin/understudy.mjs', 'demo', '--headless', '--json', '--store', store],
      { stdio: ['ignore', 'pipe', 'pipe'], signal: t.signal, killSignal: 'SIGINT' });
    let stdout = '', stderr = '';
    child.on('error', () => undefined); // the test's own abort (timeout): the close below still comes
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-20_000); });
    const code = await new Promise<number | null>((r) => child.on('close', r));
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const result = lines.at(-1)!;
    assert.equal(result.type, 'result', 'the last NDJSON line is the result');
    assert.equal(result.ok, true, `demo failed: ${JSON.stringify(result.error)}\n${stderr}`);
    assert.equal(code, 0);
    const steps = result.steps as Array<{ name: string; outcome: string; version: string; seconds: number; hostUnchanged?: boolean; hostChanges?: string[] }>;
    assert.deepEqual(steps.map((s) => s.outcome), ['upgraded', 'check-failed', 'rolled-back']);
    assert.deepEqual(steps.map((s) => s.version), ['2.0', '2.0', '1.0']);
    assert.equal(steps[1]!.hostUnchanged, true, `the 3.0 rehearsal left the host as it was: ${JSON.stringify(steps[1])}`);
    for (const s of steps) assert.ok(s.seconds > 0);
    assert.ok(lines.some((l) => l.type === 'stage' && l.stage === 'swapping'), 'stage events were streamed');
    assert.ok(lines.some((l) => l.type === 'log' && l.stream === 'serial'), 'the sandbox console was streamed');
    assert.deepEqual(qemuProcessesMentioning(store), [], 'no VM of this store is left running');
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
});
