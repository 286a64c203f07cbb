// Preflight verdicts of the real stage services: each check says ok or why not, and nothing is written to
// the host. Here with dir: and local targets (ssh:// reachability is covered against the demo VM).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preflightItems } from '../../../main/app/stage-services/preflight.ts';
import type { RunInput } from '../../../main/core/workflow/run-types.ts';

const input = (target: string, more: Partial<RunInput> = {}): RunInput => ({
  runId: 'r', kind: 'upgrade', target, command: 'true', checks: [], health: [], yes: true, reboot: 'auto', options: {}, ...more,
});
const noSsh = async () => { throw new Error('no ssh in this test'); };

test('dir: host: reachable with its free space, store writable; the host directory is only read', async () => {
  const work = mkdtempSync(join(tmpdir(), 'understudy-preflight-'));
  try {
    const items = await preflightItems(input(`dir:${work}`), `${work}-store`, noSsh, AbortSignal.timeout(10_000));
    const byName = Object.fromEntries(items.map((i) => [i.name, i]));
    assert.equal(byName['host reachable']?.ok, true, JSON.stringify(items));
    assert.match(byName['host reachable']!.detail!, /GiB free/);
    assert.deepEqual(readdirSync(work), [], 'nothing written into the host');
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(`${work}-store`, { recursive: true, force: true });
  }
});

test('a dir: host that does not exist fails its check with the path', async () => {
  const store = mkdtempSync(join(tmpdir(), 'understudy-preflight-store-'));
  try {
    const items = await preflightItems(input('dir:/nonexistent/understudy-host'), store, noSsh, AbortSignal.timeout(10_000));
    const reach = items.find((i) => i.name === 'host reachable')!;
    assert.equal(reach.ok, false);
    assert.match(reach.detail!, /\/nonexistent\/understudy-host is not a directory/);
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
});

test('local target with --reboot always is refused up front (understudy never reboots its own machine)', async () => {
  const store = mkdtempSync(join(tmpdir(), 'understudy-preflight-store-'));
  try {
    const items = await preflightItems(input('local', { reboot: 'always' }), store, noSsh, AbortSignal.timeout(10_000));
    const reboot = items.find((i) => i.name === 'reboot policy');
    assert.equal(reboot?.ok, false, JSON.stringify(items));
    assert.match(reboot!.detail!, /never reboots the machine it runs on/);
    const auto = await preflightItems(input('local', { reboot: 'auto' }), store, noSsh, AbortSignal.timeout(10_000));
    assert.equal(auto.find((i) => i.name === 'reboot policy'), undefined);
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
});
