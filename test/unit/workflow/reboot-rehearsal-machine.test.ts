// The `rebooting` stage in the machine, with fake services: when what boots changed the sandbox reboots
// (its report lands in the context and the result); a failed boot is a failed check (exit 4, no swap,
// sandbox released); nothing that boots changed, or --reboot-rehearsal never, skips it with the reason.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeRun } from './harness.ts';
import { exitCodeForOutcome } from '../../../main/core/workflow/run-types.ts';
import { outcomeOfState, runResult } from '../../../main/core/workflow/run-result.ts';
import { stageEvents } from '../../../main/app/runs/stage-event-diff.ts';

const KERNEL_DELTA = { added: ['boot/vmlinuz-6.12.9-amd64', 'boot/initrd.img-6.12.9-amd64', 'lib/modules/6.12.9-amd64/modules.dep'], changed: ['var/lib/dpkg/status'], removed: [] };

describe('rebooting stage', () => {
  it('a new kernel reboots the sandbox after capturing2; the report is in the result', async () => {
    const run = startFakeRun({ delta: KERNEL_DELTA });
    const s = await run.finished();
    assert.equal(s.value, 'done');
    const at = run.states.indexOf('rebooting');
    assert.deepEqual(run.states.slice(at - 1, at + 2), ['capturing2', 'rebooting', 'releasing']);
    assert.equal(run.services.count('rehearseReboot'), 1);
    const r = runResult(s.context, 'done');
    assert.equal(r.reboot?.rehearsed, true);
    assert.equal(r.reboot?.ok, true);
    assert.match(r.reboot?.reason ?? '', /kernel \(\/boot\/vmlinuz-6\.12\.9-amd64\)/);
    assert.match(r.reboot?.reason ?? '', /kernel modules/);
    assert.deepEqual(r.reboot?.checks, [{ cmd: 'test -x /usr/bin/hello-service', ok: true, exitCode: 0 }]);
    assert.equal(s.context.sandbox?.sshPort, 2223, 'the sandbox handle after the reboot');
    assert.equal(typeof r.timings.rebooting, 'number');
  });

  it('a boot that fails is a failed check: exit 4, no swap, sandbox released, console kept in the result', async () => {
    const run = startFakeRun({ delta: KERNEL_DELTA, rebootFails: true });
    const s = await run.finished();
    assert.equal(s.value, 'check-failed');
    assert.equal(exitCodeForOutcome(outcomeOfState(String(s.value))!), 4);
    assert.equal(run.services.count('swap'), 0);
    assert.equal(run.services.count('findConflicts'), 0);
    assert.ok(run.services.count('releaseSandbox') >= 1);
    assert.equal(s.context.hostTouched, undefined);
    const r = runResult(s.context, String(s.value));
    assert.equal(r.error?.stage, 'rebooting');
    assert.equal(r.error?.code, 'check-failed');
    assert.match(r.error?.message ?? '', /reboot rehearsal FAILED: .*emergency mode/);
    assert.equal(r.reboot?.ok, false);
    assert.deepEqual(r.reboot?.failedUnits, ['mnt-data.mount']);
    assert.match(r.reboot?.consoleTail ?? '', /emergency mode/);
  });

  it('nothing that boots changed: skipped, and the stage says why', async () => {
    const run = startFakeRun();
    const s = await run.finished();
    assert.equal(s.value, 'done');
    assert.equal(run.services.count('rehearseReboot'), 0);
    assert.equal(s.context.reboot?.rehearsed, false);
    assert.match(s.context.reboot?.reason ?? '', /^not rehearsed: nothing that boots changed/);
    const ev = stageEvents(undefined, s.context).filter((e) => e.type === 'stage' && e.stage === 'rebooting');
    assert.deepEqual(ev.map((e) => e.type === 'stage' && [e.state, e.note]), [['active', undefined], ['skipped', s.context.reboot?.reason]]);
  });

  it('--reboot-rehearsal never skips even a kernel change; always reboots without one', async () => {
    const never = startFakeRun({ delta: KERNEL_DELTA }, { rebootRehearsal: 'never' });
    const a = await never.finished();
    assert.equal(never.services.count('rehearseReboot'), 0);
    assert.equal(a.context.reboot?.reason, 'not rehearsed: --reboot-rehearsal never');
    assert.ok((a.context.reboot?.because ?? []).length > 0, 'what boots changed is still said');
    const always = startFakeRun({}, { rebootRehearsal: 'always' });
    const b = await always.finished();
    assert.equal(always.services.count('rehearseReboot'), 1);
    assert.match(b.context.reboot?.reason ?? '', /--reboot-rehearsal always/);
  });

  it('a rehearsal (kind rehearse) reboots too and ends rehearsed', async () => {
    const run = startFakeRun({ delta: KERNEL_DELTA }, { kind: 'rehearse', yes: false });
    const s = await run.finished();
    assert.equal(s.value, 'rehearsed');
    assert.equal(run.services.count('rehearseReboot'), 1);
  });

  it('understudy trouble in the reboot (not the boot itself) ends failed, exit 1', async () => {
    const run = startFakeRun({ delta: KERNEL_DELTA, failAt: 'rehearseReboot', failCode: 'hypervisor' });
    const s = await run.finished();
    assert.equal(s.value, 'failed');
    assert.equal(s.context.error?.stage, 'rebooting');
    assert.ok(run.services.count('releaseSandbox') >= 1);
  });

  it('CANCEL while rebooting ends cancelled with the sandbox released', async () => {
    const run = startFakeRun({ delta: KERNEL_DELTA, hangAt: 'rehearseReboot' });
    await run.reach('rebooting');
    run.actor.send({ type: 'CANCEL' });
    const s = await run.finished();
    assert.equal(s.value, 'cancelled');
    assert.ok(run.services.calls.some((c) => c.name === 'rehearseReboot' && c.phase === 'abort'));
    assert.ok(run.services.count('releaseSandbox') >= 1);
  });
});
