// Where a resumed run continues (pure): sandbox stages rewind to booting, a shared-rehearsal follower to
// building, other stages are re-entered; a new attempt opens, and the resume is noted.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeResume, resumeSnapshot, SANDBOX_STAGES, type PersistedRun } from '../../../main/core/workflow/resume-plan.ts';
import type { RunContext } from '../../../main/core/workflow/run-types.ts';
import { testInput } from './harness.ts';

const at = new Date('2026-12-04T10:00:00.000Z');
const t = (seconds?: number) => ({ startedAt: '2026-12-04T09:00:00.000Z', attempts: 1, ...(seconds !== undefined ? { seconds } : {}) });

function saved(state: string, over: Partial<RunContext> = {}): PersistedRun {
  const context: RunContext = {
    input: testInput(), map1: 'a'.repeat(64), image: '/cache/sandbox-x', sandbox: { id: 'sb-1', vm: { kind: 'libvirt', name: 'understudy-sandbox-1' } },
    hypervisor: 'qemu', accel: 'tcg', packages: { upgraded: [], installed: [], removed: [] },
    timings: { preflight: t(1), capturing: t(2), building: t(3), booting: t(40), [state]: t() }, ...over,
  };
  return { status: 'active', value: state, historyValue: {}, context, children: { x: { snapshot: { status: 'active', input: { context } }, src: 'x', syncSnapshot: false } } };
}

describe('resume plan', () => {
  for (const stage of SANDBOX_STAGES) {
    it(`interrupted in ${stage}: rewinds to booting, keeps the dead sandbox as the one to dispose, drops what came after`, () => {
      const { snapshot: s, note } = resumeSnapshot(saved(stage), at);
      assert.equal(s.value, 'booting');
      assert.deepEqual(Object.keys(s.children ?? {}), ['bootSandbox']);
      assert.deepEqual(s.children!.bootSandbox!.snapshot, { status: 'active', input: { context: s.context } });
      assert.equal(s.context.sandbox?.id, 'sb-1', 'bootSandbox gets it as `previous`');
      assert.equal(s.context.packages, undefined);
      assert.equal(s.context.hypervisor, undefined);
      assert.equal(s.context.image, '/cache/sandbox-x');
      assert.deepEqual(s.context.timings.booting, { startedAt: at.toISOString(), attempts: 2 });
      assert.deepEqual(s.context.resumes, [note]);
      assert.equal(describeResume(note), stage === 'booting' ? 'resumed at booting (sandbox gone)' : `resumed: rewound from ${stage} to booting (sandbox gone)`);
    });
  }

  it('a follower of a shared rehearsal rewinds to building, where it joins the batch\'s rehearsal again', () => {
    const shared = 'shared-rehearsal:' + 'a'.repeat(64);
    const { snapshot: s, note } = resumeSnapshot(saved('capturing2', { image: shared, sandbox: { id: shared } }), at);
    assert.equal(s.value, 'building');
    assert.deepEqual(Object.keys(s.children ?? {}), ['buildImage']);
    assert.equal(s.context.image, undefined);
    assert.equal(s.context.sandbox, undefined);
    assert.equal(describeResume(note), 'resumed: rewound from capturing2 to building (the shared rehearsal it followed is gone)');
  });

  it('interrupted while waiting for a hypervisor: an owner waits again, a follower joins the rehearsal at building', () => {
    const waiting = 'waiting for a hypervisor';
    const own = resumeSnapshot(saved(waiting, { sandbox: undefined, placement: { member: 'm1', waitedSeconds: 3 } }), at).snapshot;
    assert.equal(own.value, waiting, 're-entered: the pool is asked again');
    const shared = 'shared-rehearsal:' + 'a'.repeat(64);
    const { snapshot: f, note } = resumeSnapshot(saved(waiting, { image: shared, sandbox: undefined, placement: { member: 'm1', waitedSeconds: 0, shared: true } }), at);
    assert.equal(f.value, 'building');
    assert.equal(f.context.placement, undefined);
    assert.equal(describeResume(note), `resumed: rewound from ${waiting} to building (the shared rehearsal it followed is gone)`);
  });

  it('other stages are re-entered: the child runs again, with a new attempt of the stage', () => {
    const before = saved('swapping');
    before.children!.x!.snapshot = { status: 'done', output: { swap: {} }, input: {} };
    const { snapshot: s, note } = resumeSnapshot(before, at);
    assert.equal(s.value, 'swapping');
    assert.deepEqual(s.children!.x!.snapshot, { status: 'active', input: {} });
    assert.equal(s.context.timings.swapping?.attempts, 2);
    assert.equal(s.context.packages !== undefined, true);
    assert.equal(describeResume(note), 'resumed at swapping');
  });
});
