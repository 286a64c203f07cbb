// One rehearsal per identical map1: followers reuse the owner's result, or take over when it fails.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sharedRehearsal } from '../../../main/core/workflow/shared-rehearsal.ts';
import { fakeStageServices } from '../../../main/adapters/fake/fake-stage-services.ts';
import { ioFor } from './contracts/stage-services.contract.ts';

const map1 = 'a'.repeat(64);

/** Owner A builds, boots, upgrades and runs `checks`; follower B is already waiting for A's result. */
async function ownerRehearses(s: ReturnType<typeof sharedRehearsal>['services'], checks: string[]) {
  const A = ioFor('A');
  const { image } = await s.buildImage({ map1, options: {} }, A);
  const follower = s.buildImage({ map1, options: {} }, ioFor('B'));
  const boot = await s.bootSandbox({ image, map1, options: {} }, A);
  await s.runUpgrade({ sandbox: boot.sandbox, command: 'x' }, A);
  await s.runChecks({ sandbox: boot.sandbox, checks }, A);
  return { A, boot, follower };
}

describe('shared rehearsal', () => {
  it('a follower waits for the owner and reuses packages, checks, map2 without booting', async () => {
    const fake = fakeStageServices();
    const { services: s, rehearsals } = sharedRehearsal(fake);
    const B = ioFor('B');
    const { A, boot, follower } = await ownerRehearses(s, ['true']);
    await s.captureSandbox({ sandbox: boot.sandbox, map1 }, A);
    const fImage = await follower;
    assert.match(fImage.image, /^shared-rehearsal:/);
    const fb = await s.bootSandbox({ image: fImage.image, map1, options: {} }, B);
    assert.deepEqual([fb.hypervisor, fb.accel], ['fake', 'tcg']);
    assert.deepEqual((await s.runUpgrade({ sandbox: fb.sandbox, command: 'x' }, B)).packages.upgraded[0]?.name, 'hello-service');
    assert.deepEqual((await s.runChecks({ sandbox: fb.sandbox, checks: ['true'] }, B)).checks, [{ cmd: 'true', ok: true, exitCode: 0 }]);
    assert.equal((await s.captureSandbox({ sandbox: fb.sandbox, map1 }, B)).map2, 'b'.repeat(64));
    await s.releaseSandbox({ sandbox: fb.sandbox, image: fImage.image }, B);
    assert.equal(fake.count('bootSandbox'), 1);
    assert.equal(fake.count('releaseSandbox'), 0);
    assert.equal(rehearsals(), 1);
  });

  it('a failing check is shared too', async () => {
    const { services: s } = sharedRehearsal(fakeStageServices());
    const { follower } = await ownerRehearses(s, ['false']);
    const f = await follower;
    assert.deepEqual((await s.runChecks({ sandbox: { id: f.image }, checks: ['false'] }, ioFor('B'))).checks.map((c) => c.ok), [false]);
  });

  it('when the owner fails before a result, a waiting follower takes over and rehearses itself', async () => {
    const fake = fakeStageServices({ failAt: 'bootSandbox' });
    const { services: s, rehearsals } = sharedRehearsal(fake);
    const A = ioFor('A');
    const B = ioFor('B');
    const { image } = await s.buildImage({ map1, options: {} }, A);
    const follower = s.buildImage({ map1, options: {} }, B);
    await assert.rejects(s.bootSandbox({ image, map1, options: {} }, A));
    const took = await follower;
    assert.equal(took.image, '/fake/images/root.qcow2');
    assert.equal(rehearsals(), 2);
    assert.equal(fake.count('buildImage'), 2);
  });

  it('a waiting follower stops when its run is cancelled', async () => {
    const { services: s } = sharedRehearsal(fakeStageServices());
    await s.buildImage({ map1, options: {} }, ioFor('A'));
    const ac = new AbortController();
    const waiting = s.buildImage({ map1, options: {} }, ioFor('B', ac.signal));
    ac.abort(new Error('cancel'));
    await assert.rejects(waiting, /cancel/);
  });

  it("a follower that reaches the reboot rehearsal gets the owner's report without a reboot of its own", async () => {
    const fake = fakeStageServices();
    const { services: s } = sharedRehearsal(fake);
    const B = ioFor('B');
    const { A, boot, follower } = await ownerRehearses(s, ['true']);
    const cap = await s.captureSandbox({ sandbox: boot.sandbox, map1 }, A);
    const f = await follower;
    const fb = await s.bootSandbox({ image: f.image, map1, options: {} }, B);
    const args = { map1, map2: cap.map2, checks: ['true'], reason: 'kernel', because: [] };
    const waiting = s.rehearseReboot({ sandbox: fb.sandbox, ...args }, B);
    const own = await s.rehearseReboot({ sandbox: boot.sandbox, ...args }, A);
    const theirs = await waiting;
    assert.deepEqual(theirs.reboot, own.reboot);
    assert.equal(theirs.sandbox.id, fb.sandbox.id);
    assert.equal(fake.count('rehearseReboot'), 1);
  });
});
