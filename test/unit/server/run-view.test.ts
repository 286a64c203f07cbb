// Pure mapping from stored runs to what the UI shows: stage states, status, expected disruption.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunContext } from '../../../main/core/workflow/run-types.ts';
import { disruptionOf, stagesOf, statusOf } from '../../../main/server/run-view.ts';

const input = { runId: 'r', kind: 'upgrade' as const, target: 'ssh://root@web1', command: 'x', checks: [], health: [], yes: false, reboot: 'auto' as const, options: {} };
const at = '2026-11-25T22:00:00.000Z';

test('stages: done, active, failed with its error, pending; skipped once finished', () => {
  const ctx = { timings: { preflight: { startedAt: at, seconds: 1, attempts: 1 }, capturing: { startedAt: at, attempts: 1 } } };
  const live = stagesOf('rehearse', ctx, false);
  assert.deepEqual(live.slice(0, 3).map((s) => s.state), ['done', 'active', 'pending']);
  const failed = stagesOf('rehearse', { ...ctx, timings: { ...ctx.timings, capturing: { startedAt: at, seconds: 2, attempts: 1 }, 'cleaning-up': { startedAt: at, seconds: 0.1, attempts: 1 } },
    error: { stage: 'capturing', code: 'io', message: 'disk full' } }, true);
  assert.equal(failed[1]?.state, 'failed');
  assert.deepEqual(failed[1]?.error, { code: 'io', message: 'disk full' });
  assert.equal(failed[2]?.state, 'skipped');
  assert.equal(failed.at(-1)?.name, 'cleaning-up', 'extra stages the run went through follow the plan');
});

test('status: final outcomes, review gate, and runs whose process is gone', () => {
  const rec = { id: 'r', verb: 'upgrade', target: 't', state: 'review', createdAt: at, updatedAt: at, input: {} };
  assert.equal(statusOf(rec, true), 'review');
  assert.equal(statusOf(rec, false), 'interrupted');
  assert.equal(statusOf({ ...rec, outcome: 'upgraded' }, false), 'done');
  assert.equal(statusOf({ ...rec, outcome: 'check-failed' }, false), 'failed');
  assert.equal(statusOf({ ...rec, outcome: 'aborted' }, false), 'aborted');
});

test('disruption: unit files and upgraded binaries restart, kernel and libc reboot, dir: targets run nothing', () => {
  const ctx: RunContext = {
    input, timings: {},
    delta: { added: [], changed: ['usr/bin/hello-service', 'lib/systemd/system/nginx.service', 'etc/motd'], removed: [] },
    packages: { upgraded: [{ name: 'hello-service', from: '1.0', to: '2.0' }], installed: [], removed: [] },
  };
  assert.deepEqual(disruptionOf(ctx), { restart: ['hello-service', 'nginx'], reboot: false, reason: 'expected, from the changed files' });
  assert.equal(disruptionOf({ ...ctx, delta: { added: ['boot/vmlinuz-6.1.0-27-cloud-amd64'], changed: [], removed: [] } }).reboot, true);
  assert.equal(disruptionOf({ ...ctx, delta: { added: [], changed: ['usr/lib/x86_64-linux-gnu/libc.so.6'], removed: [] } }).reboot, true);
  assert.equal(disruptionOf({ ...ctx, input: { ...input, reboot: 'never' }, delta: { added: ['boot/vmlinuz-x'], changed: [], removed: [] } }).reboot, false);
  assert.deepEqual(disruptionOf({ ...ctx, input: { ...input, target: 'dir:/srv/x' } }).restart, []);
  assert.deepEqual(disruptionOf({ ...ctx, restart: { restarted: ['a'], rebooted: true } }), { restart: ['a'], reboot: true, reason: 'as it happened' });
});
