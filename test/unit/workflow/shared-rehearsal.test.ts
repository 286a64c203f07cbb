// One rehearsal per key (plan + map1): each run has its own services; followers reuse the owner's result
// through the board, or take over when it fails.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RehearsalBoard, rehearsalKey, sharedRehearsal } from '../../../main/core/workflow/shared-rehearsal.ts';
import { fakeStageServices, type FakeOptions } from '../../../main/adapters/fake/fake-stage-services.ts';
import type { StageServices } from '../../../main/core/workflow/stage-services.ts';
import { ioFor } from './contracts/stage-services.contract.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';
import { testInput } from './harness.ts';

const map1 = 'a'.repeat(64);

/** Run `id` of a batch: its own fake services, shared through `board`. */
function run(board: RehearsalBoard, id: string, fake: FakeOptions = {}, checks = ['true']) {
  const own = fakeStageServices(fake);
  const input = testInput({ runId: id, checks });
  return { own, s: sharedRehearsal(own, board, input) as StageServices, io: ioFor(id) };
}

/** Owner A builds, boots, upgrades and runs its checks; follower B is already waiting for A's result. */
async function ownerRehearses(board: RehearsalBoard, checks: string[]) {
  const A = run(board, 'A', {}, checks);
  const B = run(board, 'B', {}, checks);
  const { image } = await A.s.buildImage({ map1, options: {} }, A.io);
  const follower = B.s.buildImage({ map1, options: {} }, B.io);
  const boot = await A.s.bootSandbox({ image, map1, options: {} }, A.io);
  await A.s.runUpgrade({ sandbox: boot.sandbox, command: 'x' }, A.io);
  await A.s.runChecks({ sandbox: boot.sandbox, checks }, A.io);
  return { A, B, boot, follower };
}

describe('shared rehearsal', () => {
  it('a follower waits for the owner and reuses packages, checks, map2 without booting', async () => {
    const board = new RehearsalBoard();
    const { A, B, boot, follower } = await ownerRehearses(board, ['true']);
    await A.s.captureSandbox({ sandbox: boot.sandbox, map1 }, A.io);
    const fImage = await follower;
    assert.match(fImage.image, /^shared-rehearsal:/);
    const fb = await B.s.bootSandbox({ image: fImage.image, map1, options: {} }, B.io);
    assert.deepEqual([fb.hypervisor, fb.accel], ['fake', 'tcg']);
    assert.deepEqual((await B.s.runUpgrade({ sandbox: fb.sandbox, command: 'x' }, B.io)).packages.upgraded[0]?.name, 'hello-service');
    assert.deepEqual((await B.s.runChecks({ sandbox: fb.sandbox, checks: ['true'] }, B.io)).checks, [{ cmd: 'true', ok: true, exitCode: 0 }]);
    assert.equal((await B.s.captureSandbox({ sandbox: fb.sandbox, map1 }, B.io)).map2, 'b'.repeat(64));
    await B.s.releaseSandbox({ sandbox: fb.sandbox, image: fImage.image }, B.io);
    assert.equal(A.own.count('bootSandbox'), 1);
    assert.deepEqual(B.own.started(), [], 'the follower\'s own services did nothing');
    assert.equal(board.rehearsals(), 1);
  });

  it('a follower takes no slot of the pool: its placement names the owner\'s member', async () => {
    const board = new RehearsalBoard();
    const A = run(board, 'A');
    const B = run(board, 'B');
    const { image } = await A.s.buildImage({ map1, options: {} }, A.io);
    const follower = B.s.buildImage({ map1, options: {} }, B.io);
    assert.deepEqual((await A.s.placeSandbox({ map1, image, options: {} }, A.io)).placement, { member: 'local', waitedSeconds: 0 });
    const boot = await A.s.bootSandbox({ image, map1, options: {} }, A.io);
    await A.s.runUpgrade({ sandbox: boot.sandbox, command: 'x' }, A.io);
    await A.s.runChecks({ sandbox: boot.sandbox, checks: ['true'] }, A.io);
    await A.s.captureSandbox({ sandbox: boot.sandbox, map1 }, A.io);
    const fImage = await follower;
    assert.deepEqual((await B.s.placeSandbox({ map1, image: fImage.image, options: {} }, B.io)).placement,
      { member: 'local', waitedSeconds: 0, shared: true });
    assert.equal(B.own.count('placeSandbox'), 0, 'the follower did not ask the pool');
    assert.equal(A.own.count('placeSandbox'), 1);
  });

  it('an owner whose boot placed the sandbox again (its member was lost) gives followers the new member', async () => {
    const board = new RehearsalBoard();
    const A = run(board, 'A');
    const B = run(board, 'B');
    const replaced: StageServices = {
      ...A.own,
      placeSandbox: async () => ({ placement: { member: 'm1', waitedSeconds: 0 } }),
      bootSandbox: async (a, io) => ({ ...(await A.own.bootSandbox(a, io)), placement: { member: 'm2', waitedSeconds: 4 } }),
    };
    const s = sharedRehearsal(replaced, board, testInput({ runId: 'A', checks: ['true'] }));
    const { image } = await s.buildImage({ map1, options: {} }, A.io);
    const follower = B.s.buildImage({ map1, options: {} }, B.io);
    assert.equal((await s.placeSandbox({ map1, image, options: {} }, A.io)).placement.member, 'm1');
    const boot = await s.bootSandbox({ image, map1, options: {} }, A.io);
    assert.deepEqual(boot.placement, { member: 'm2', waitedSeconds: 4 }, 'the owner\'s own context gets the new member too');
    await s.runUpgrade({ sandbox: boot.sandbox, command: 'x' }, A.io);
    await s.runChecks({ sandbox: boot.sandbox, checks: ['true'] }, A.io);
    await s.captureSandbox({ sandbox: boot.sandbox, map1 }, A.io);
    const fImage = await follower;
    assert.equal((await B.s.placeSandbox({ map1, image: fImage.image, options: {} }, B.io)).placement.member, 'm2');
  });

  it('a failing check is shared too', async () => {
    const { B, follower } = await ownerRehearses(new RehearsalBoard(), ['false']);
    const f = await follower;
    assert.deepEqual((await B.s.runChecks({ sandbox: { id: f.image }, checks: ['false'] }, B.io)).checks.map((c) => c.ok), [false]);
  });

  it('when the owner fails before a result, a waiting follower takes over and rehearses itself', async () => {
    const board = new RehearsalBoard();
    const A = run(board, 'A', { failAt: 'bootSandbox' });
    const B = run(board, 'B');
    const { image } = await A.s.buildImage({ map1, options: {} }, A.io);
    const follower = B.s.buildImage({ map1, options: {} }, B.io);
    await assert.rejects(A.s.bootSandbox({ image, map1, options: {} }, A.io));
    const took = await follower;
    assert.equal(took.image, '/fake/images/root.qcow2');
    assert.equal(board.rehearsals(), 2);
    assert.equal(B.own.count('buildImage'), 1, 'the follower built with its own services');
  });

  it('a waiting follower stops when its run is cancelled', async () => {
    const board = new RehearsalBoard();
    const A = run(board, 'A');
    await A.s.buildImage({ map1, options: {} }, A.io);
    const ac = new AbortController();
    const B = run(board, 'B');
    const waiting = B.s.buildImage({ map1, options: {} }, ioFor('B', ac.signal));
    ac.abort(new Error('cancel'));
    await assert.rejects(waiting, /cancel/);
  });

  it('another plan, map1 or mirror is another rehearsal; the key is one function a batch may replace', async () => {
    const base = testInput();
    const k = rehearsalKey(base, map1);
    assert.equal(rehearsalKey(testInput({ runId: 'other' }), map1), k, 'the run id is not part of it');
    assert.notEqual(rehearsalKey(base, 'c'.repeat(64)), k);
    assert.notEqual(rehearsalKey(testInput({ checks: ['false'] }), map1), k);
    assert.notEqual(rehearsalKey(testInput({ options: { mirror: '/srv/mirror' } }), map1), k);
  });

  /** A and B keyed into one group although their map1s differ; A rehearses, B waits: B's buildImage. */
  async function groupOfTwo(verify?: ConstructorParameters<typeof RehearsalBoard>[1]) {
    const board = new RehearsalBoard(() => 'one group', verify);
    const A = run(board, 'A');
    const B = run(board, 'B');
    await A.s.buildImage({ map1, options: {} }, A.io);
    const follower = B.s.buildImage({ map1: 'c'.repeat(64), options: {} }, B.io);
    const boot = await A.s.bootSandbox({ image: 'x', map1, options: {} }, A.io);
    await A.s.runUpgrade({ sandbox: boot.sandbox, command: 'x' }, A.io);
    await A.s.runChecks({ sandbox: boot.sandbox, checks: ['true'] }, A.io);
    await A.s.captureSandbox({ sandbox: boot.sandbox, map1 }, A.io);
    return { board, B, f: await follower };
  }

  it('a group member with another map1 takes the rehearsal only as verified, with a map2 of its own', async () => {
    const asked: unknown[] = [];
    const { B, f } = await groupOfTwo(async (owner, own) => {
      asked.push([owner, own]);
      return { takes: true, deltaPaths: 3, identical: 2, already: 0, merged: ['etc/x.conf'], hostSpecific: 4, hostSpecificSample: [], conflicts: [],
        map2: 'd'.repeat(64), delta: { added: [], changed: ['etc/x.conf', 'usr/bin/x'], removed: [] } };
    });
    assert.deepEqual(asked, [[{ map1, map2: 'b'.repeat(64) }, { map1: 'c'.repeat(64) }]], 'the owner\'s map1 and map2 against its own map1');
    assert.match(f.image, /^shared-rehearsal:/);
    assert.deepEqual(f.shared, { mode: 'shared', fromRun: 'A', fromTarget: 'dir:/srv/fake', deltaPaths: 3, verified: 2, already: 0, merged: ['etc/x.conf'], hostSpecific: 4 });
    const cap = await B.s.captureSandbox({ sandbox: { id: f.image }, map1: 'c'.repeat(64) }, B.io);
    assert.equal(cap.map2, 'd'.repeat(64), 'its own map2, not the owner\'s');
  });

  it('a member whose verification fails, or that nothing can verify, rehearses on its own and says why', async () => {
    const conflicts = [{ path: 'usr/bin/x', host: 'content changed', sandbox: 'content changed' }];
    const refused = await groupOfTwo(async () => ({ takes: false, deltaPaths: 3, identical: 2, already: 0, merged: [], hostSpecific: 1, hostSpecificSample: [], conflicts }));
    assert.equal(refused.f.image, '/fake/images/root.qcow2', 'it built its own sandbox disk');
    assert.deepEqual(refused.f.shared?.conflicts, conflicts);
    assert.equal(refused.f.shared?.mode, 'own');
    assert.equal(refused.board.rehearsals(), 2);
    const unverified = await groupOfTwo();
    assert.equal(unverified.f.shared?.mode, 'own');
    assert.match(unverified.f.shared?.conflicts?.[0]?.sandbox ?? '', /nothing can verify/);
  });

  it("a follower that reaches the reboot rehearsal gets the owner's report without a reboot of its own", async () => {
    const board = new RehearsalBoard();
    const { A, B, boot, follower } = await ownerRehearses(board, ['true']);
    const cap = await A.s.captureSandbox({ sandbox: boot.sandbox, map1 }, A.io);
    const f = await follower;
    const fb = await B.s.bootSandbox({ image: f.image, map1, options: {} }, B.io);
    const args = { map1, map2: cap.map2, checks: ['true'], reason: 'kernel', because: [] };
    const waiting = B.s.rehearseReboot({ sandbox: fb.sandbox, ...args }, B.io);
    const own = await A.s.rehearseReboot({ sandbox: boot.sandbox, ...args }, A.io);
    const theirs = await waiting;
    assert.deepEqual(theirs.reboot, own.reboot);
    assert.equal(theirs.sandbox.id, fb.sandbox.id);
    assert.equal(A.own.count('rehearseReboot'), 1);
    assert.equal(B.own.count('rehearseReboot'), 0);
  });

  it('an owner whose run ends before its reboot rehearsal fails the follower waiting for it (no hang)', async () => {
    const board = new RehearsalBoard();
    const { A, B, boot, follower } = await ownerRehearses(board, ['true']);
    const cap = await A.s.captureSandbox({ sandbox: boot.sandbox, map1 }, A.io);
    const f = await follower;
    const fb = await B.s.bootSandbox({ image: f.image, map1, options: {} }, B.io);
    const waiting = B.s.rehearseReboot({ sandbox: fb.sandbox, map1, map2: cap.map2, checks: ['true'], reason: 'kernel', because: [] }, B.io);
    board.release('A', new Error('run A was cancelled'));
    await assert.rejects(waiting, /run A was cancelled/);
    assert.equal(B.own.count('rehearseReboot'), 0);
  });

  it('an owner whose member is lost in its reboot rehearsal: the follower fails the same way, and retries rehearse anew', async () => {
    const board = new RehearsalBoard();
    const A = run(board, 'A', { failAt: 'rehearseReboot', failCode: 'hypervisor-lost' });
    const B = run(board, 'B');
    const { image } = await A.s.buildImage({ map1, options: {} }, A.io);
    const follower = B.s.buildImage({ map1, options: {} }, B.io);
    const boot = await A.s.bootSandbox({ image, map1, options: {} }, A.io);
    await A.s.runUpgrade({ sandbox: boot.sandbox, command: 'x' }, A.io);
    await A.s.runChecks({ sandbox: boot.sandbox, checks: ['true'] }, A.io);
    const cap = await A.s.captureSandbox({ sandbox: boot.sandbox, map1 }, A.io);
    const fb = await B.s.bootSandbox({ image: (await follower).image, map1, options: {} }, B.io);
    const args = { map1, map2: cap.map2, checks: ['true'], reason: 'kernel', because: [] };
    const waiting = B.s.rehearseReboot({ sandbox: fb.sandbox, ...args }, B.io);
    const lost = (e: unknown) => isUnderstudyError(e) && e.code === 'hypervisor-lost';
    await assert.rejects(A.s.rehearseReboot({ sandbox: boot.sandbox, ...args }, A.io), lost);
    await assert.rejects(waiting, lost, 'the follower fails as lost too: the batch queues it again');
    // the batch's retries: the first to come owns a new rehearsal, the next follows that one
    const A2 = run(board, 'A-retry');
    const B2 = run(board, 'B-retry');
    const own = await A2.s.buildImage({ map1, options: {} }, A2.io);
    assert.equal(own.image, '/fake/images/root.qcow2', 'a new rehearsal, not the one whose member was lost');
    const follows = B2.s.buildImage({ map1, options: {} }, B2.io);
    const boot2 = await A2.s.bootSandbox({ image: own.image, map1, options: {} }, A2.io);
    await A2.s.runUpgrade({ sandbox: boot2.sandbox, command: 'x' }, A2.io);
    await A2.s.runChecks({ sandbox: boot2.sandbox, checks: ['true'] }, A2.io);
    await A2.s.captureSandbox({ sandbox: boot2.sandbox, map1 }, A2.io);
    assert.match((await follows).image, /^shared-rehearsal:/);
    assert.equal(board.rehearsals(), 2);
  });

  it('an owner resumed past buildImage (rewound to booting) serves runs that come later', async () => {
    const board = new RehearsalBoard();
    const A = run(board, 'A');
    const boot = await A.s.bootSandbox({ image: 'x', map1, options: {} }, A.io);
    const B = run(board, 'B');
    const follower = B.s.buildImage({ map1, options: {} }, B.io);
    await A.s.runUpgrade({ sandbox: boot.sandbox, command: 'x' }, A.io);
    await A.s.runChecks({ sandbox: boot.sandbox, checks: ['true'] }, A.io);
    await A.s.captureSandbox({ sandbox: boot.sandbox, map1 }, A.io);
    assert.match((await follower).image, /^shared-rehearsal:/);
    assert.equal(board.rehearsals(), 1);
  });
});
