import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore } from '../../../main/app/run-store/run-store.ts';
import { resolveRollbackTo } from '../../../main/cli/verbs/rollback-target.ts';

test('rollback --to takes a run id (or prefix) and means that run\'s map1; anything else passes through', async () => {
  const store = mkdtempSync(join(tmpdir(), 'understudy-rollback-to-'));
  try {
    const runs = new RunStore(store);
    runs.createRun({ id: '20261126-001500-abcd', verb: 'upgrade', target: 'dir:/srv/h', input: {} });
    runs.saveTransition('20261126-001500-abcd', { state: 'done', snapshot: {}, timings: {}, outcome: 'upgraded', result: { map1: 'aa'.repeat(32) } });
    runs.close();
    assert.equal(await resolveRollbackTo(store, '20261126-001500'), 'aa'.repeat(32));
    assert.equal(await resolveRollbackTo(store, '20261126T001903Z-swap-x1'), '20261126T001903Z-swap-x1', 'a transaction id');
    assert.equal(await resolveRollbackTo(store, undefined), undefined);
  } finally { rmSync(store, { recursive: true, force: true }); }
});
