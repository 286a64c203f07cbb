import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { decideAccel, probeBooted, runProbeGuest, type ProbeOutcome, type ProbeRunner } from '../../../main/adapters/qemu/kvm-probe.ts';
import { demoHostImage } from '../../../main/adapters/qemu/image-cache.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';

const booted: ProbeOutcome = { exitCode: 0, timedOut: false, console: '[    0.000000] Linux version 6.1.0', stderr: '' };
const runner = (o: ProbeOutcome) => {
  const calls: string[] = [];
  const r: ProbeRunner = async (accel) => { calls.push(accel); return o; };
  return { r, calls };
};
const yes = () => true;
const no = () => false;

describe('accelerator choice', () => {
  it('uses KVM only when the probe kernel booted under it', async () => {
    const { r, calls } = runner(booted);
    assert.equal((await decideAccel('auto', '/k', {}, yes, r)).accel, 'kvm');
    assert.deepEqual(calls, ['kvm']);
  });

  it('falls back to TCG when the probe hangs, fails or prints nothing', async () => {
    for (const o of [
      { ...booted, timedOut: true, exitCode: null },
      { ...booted, exitCode: 1, stderr: 'failed to initialize kvm' },
      { ...booted, console: '' },
    ]) {
      const d = await decideAccel('auto', '/k', {}, yes, runner(o).r);
      assert.equal(d.accel, 'tcg', JSON.stringify(o));
      assert.ok(d.reason.length > 0);
    }
  });

  it('does not probe without a usable /dev/kvm', async () => {
    const { r, calls } = runner(booted);
    assert.equal((await decideAccel('auto', '/k', {}, no, r)).accel, 'tcg');
    assert.deepEqual(calls, []);
  });

  it('honours UNDERSTUDY_ACCEL and explicit requests without probing', async () => {
    const { r, calls } = runner(booted);
    assert.equal((await decideAccel('auto', '/k', { UNDERSTUDY_ACCEL: 'tcg' }, yes, r)).accel, 'tcg');
    assert.equal((await decideAccel('auto', '/k', { UNDERSTUDY_ACCEL: 'kvm' }, no, r)).accel, 'kvm');
    assert.equal((await decideAccel('tcg', '/k', { UNDERSTUDY_ACCEL: 'kvm' }, yes, r)).accel, 'tcg');
    assert.deepEqual(calls, []);
    await assert.rejects(decideAccel('auto', '/k', { UNDERSTUDY_ACCEL: 'fast' }, yes, r),
      (e) => isUnderstudyError(e) && e.code === 'usage');
  });

  it('probeBooted wants a clean exit and the kernel banner', () => {
    assert.equal(probeBooted(booted), true);
    assert.equal(probeBooted({ ...booted, exitCode: null }), false);
    assert.equal(probeBooted({ ...booted, console: 'SeaBIOS' }), false);
  });

  it('the probe guest really boots under TCG', async (t) => {
    const kernel = await demoHostImage().then((i) => i.kernel, () => undefined);
    if (!kernel || !existsSync(kernel)) return t.skip('demo-host image not built (bash vm-images/build.sh demo-host)');
    const o = await runProbeGuest('tcg', kernel, 60_000);
    assert.equal(probeBooted(o), true, `${o.stderr}\n${o.console.slice(-500)}`);
  });
});
