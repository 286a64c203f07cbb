// The StageServices contract as a function of a factory, so the fakes and, later, the real composition
// (capture + sandbox + swap adapters against a dir: target) prove the same behaviour the machine relies on.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { isUnderstudyError } from '../../../../main/core/domain/errors.ts';
import type { RunEvent } from '../../../../main/core/domain/events.ts';
import type { StageIo, StageServices } from '../../../../main/core/workflow/stage-services.ts';
import type { RunInput } from '../../../../main/core/workflow/run-types.ts';

export interface StageServicesFixture {
  services: StageServices;
  /** An input whose target the services can really work on; `checks`/`health` all pass. */
  input: RunInput;
  dispose(): Promise<void>;
}

export function ioFor(runId: string, signal = new AbortController().signal, events: RunEvent[] = []): StageIo {
  return {
    runId, signal,
    progress: (p) => events.push({ type: 'progress', run: runId, stage: 'contract', ...p }),
    log: (stream, source, text) => events.push({ type: 'log', run: runId, stream, source, text, at: new Date().toISOString() }),
  };
}

const hex64 = /^[0-9a-f]{64}$/;

export function stageServicesContract(name: string, make: () => Promise<StageServicesFixture>): void {
  it(`${name}: the whole pipeline yields maps, delta, check and health results`, async () => {
    const f = await make();
    try {
      const { services: s, input } = f;
      const io = ioFor(input.runId);
      const pre = await s.preflight({ input }, io);
      assert.ok(pre.items.length > 0 && pre.items.every((i) => i.ok));
      const { map1 } = await s.captureHost({ target: input.target, options: input.options }, io);
      assert.match(map1, hex64);
      const { image } = await s.buildImage({ map1, options: input.options }, io);
      const boot = await s.bootSandbox({ image, map1, options: input.options }, io);
      assert.equal(typeof boot.sandbox.id, 'string');
      try {
        const up = await s.runUpgrade({ sandbox: boot.sandbox, command: input.command }, io);
        assert.ok(Array.isArray(up.packages.upgraded));
        const { checks } = await s.runChecks({ sandbox: boot.sandbox, checks: input.checks }, io);
        assert.deepEqual(checks.map((c) => [c.cmd, c.ok]), input.checks.map((c) => [c, true]));
        const cap = await s.captureSandbox({ sandbox: boot.sandbox, map1 }, io);
        assert.match(cap.map2, hex64);
        assert.notEqual(cap.map2, map1);
        assert.ok(cap.delta.added.length + cap.delta.changed.length + cap.delta.removed.length > 0);
        // the reboot rehearsal, as the machine calls it when it decided to reboot
        const rb = await s.rehearseReboot({ sandbox: boot.sandbox, map1, map2: cap.map2, checks: input.checks, reason: 'contract', because: [] }, io);
        assert.equal(rb.reboot.rehearsed, true);
        assert.equal(rb.reboot.ok, true, rb.reboot.failure);
        assert.deepEqual((rb.reboot.checks ?? []).map((c) => [c.cmd, c.ok]), input.checks.map((c) => [c, true]));
        assert.equal(typeof rb.reboot.kernel?.chosenBy, 'string');
        assert.equal(rb.sandbox.id, boot.sandbox.id);
      } finally {
        await s.releaseSandbox({ sandbox: boot.sandbox, image }, io);
      }
    } finally { await f.dispose(); }
  });

  it(`${name}: capturing an unchanged host twice gives the same map (idempotent re-entry)`, async () => {
    const f = await make();
    try {
      const io = ioFor(f.input.runId);
      const a = await f.services.captureHost({ target: f.input.target, options: f.input.options }, io);
      const b = await f.services.captureHost({ target: f.input.target, options: f.input.options }, io);
      assert.equal(a.map1, b.map1);
    } finally { await f.dispose(); }
  });

  it(`${name}: releaseSandbox with nothing to release, twice, resolves`, async () => {
    const f = await make();
    try {
      const io = ioFor(f.input.runId);
      await f.services.releaseSandbox({}, io);
      await f.services.releaseSandbox({}, io);
    } finally { await f.dispose(); }
  });

  it(`${name}: an aborted signal makes a stage reject with an UnderstudyError`, async () => {
    const f = await make();
    try {
      const ac = new AbortController();
      ac.abort();
      await assert.rejects(f.services.captureHost({ target: f.input.target, options: f.input.options }, ioFor(f.input.runId, ac.signal)),
        (e: unknown) => isUnderstudyError(e) && e.code === 'cancelled');
    } finally { await f.dispose(); }
  });
}
