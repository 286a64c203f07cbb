// Runs side by side hold sandboxes at once: each under an id of its own, usable only by its own run, and
// whatever a run still holds when it ends is destroyed and reported as that run's cleanup failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { liveSandboxes, registerSandbox, releaseRunSandboxes, sandboxFor, sandboxLive } from '../../../main/app/stage-services/sandbox-registry.ts';
import type { Sandbox } from '../../../main/adapters/sandbox/sandbox-vm.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';
import { RunStore } from '../../../main/app/run-store/run-store.ts';
import { startRun } from '../../../main/app/runs/runner.ts';
import { fakeStageServices } from '../../../main/adapters/fake/fake-stage-services.ts';
import { testInput } from '../workflow/harness.ts';

const fakeSandbox = (closed: string[], name: string) => ({ close: async () => { closed.push(name); return { clean: true }; } }) as unknown as Sandbox;

test('sandbox registry: ids unique per sandbox; a run reaches only its own; releasing a run releases only its own', async () => {
  const closed: string[] = [];
  const a1 = registerSandbox('run-a', fakeSandbox(closed, 'a1'));
  const a2 = registerSandbox('run-a', fakeSandbox(closed, 'a2')); // a re-entered boot, say
  const b1 = registerSandbox('run-b', fakeSandbox(closed, 'b1'));
  assert.equal(new Set([a1, a2, b1]).size, 3);
  for (const id of [a1, a2, b1]) assert.ok(!id.includes('run-'), 'never a run id');
  assert.ok(sandboxFor(b1, 'run-b'));
  assert.throws(() => sandboxFor(b1, 'run-a'), (e: unknown) => isUnderstudyError(e) && e.code === 'internal' && /belongs to run run-b/.test(e.message));
  assert.throws(() => sandboxFor('sb-gone', 'run-a'), (e: unknown) => isUnderstudyError(e) && e.code === 'hypervisor');
  assert.deepEqual((await releaseRunSandboxes('run-a', 0)).sort(), [a1, a2].sort());
  assert.deepEqual(closed.sort(), ['a1', 'a2']);
  assert.equal(sandboxLive(b1), true);
  assert.deepEqual(liveSandboxes(), [{ id: b1, runId: 'run-b' }]);
  await releaseRunSandboxes('run-b', 0);
  assert.deepEqual(liveSandboxes(), []);
});

test('a run whose services still hold something when it ends: destroyed, logged, and the run\'s cleanup failed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-leftovers-'));
  const store = new RunStore(dir);
  try {
    const services = fakeStageServices();
    services.leftovers = async () => ['sandbox sb-0123'];
    const h = startRun({ store, services }, testInput({ runId: 'run-leak' }));
    const f = await h.finished;
    assert.equal(f.outcome, 'upgraded', 'the outcome stands');
    assert.match(f.result.cleanupError ?? '', /sandbox sb-0123 outlived the run and was destroyed now/);
    assert.match((store.get('run-leak')!.result as { cleanupError?: string }).cleanupError ?? '', /sb-0123/);
    assert.ok(store.events('run-leak').some((e) => e.event.type === 'log' && e.event.stream === 'stderr' && /sb-0123/.test(e.event.text)));

    const clean = fakeStageServices();
    clean.leftovers = async () => [];
    const g = await startRun({ store, services: clean }, testInput({ runId: 'run-clean' })).finished;
    assert.equal(g.result.cleanupError, undefined);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
