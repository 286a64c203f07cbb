// The perl path writes its commit before the barrier that makes the renames durable ('commit TS async',
// then 'synced'). A crash in between may lose renames (a power cut: the journal line reached the disk, a
// rename did not). Recovery then runs the forward steps again: here the loss is made by hand (a renamed
// object put back into the staging, the old one back in place) and recover must land exactly map2 — on
// either agent path, since the boot unit's recovery may meet a host without perl.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { openDirHost } from '../../../main/adapters/swap/dir-host.ts';
import { swap } from '../../../main/adapters/swap/swap.ts';
import { recover } from '../../../main/adapters/swap/recover.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';
import { snapshot } from './helpers/tree.ts';
import { standardPair } from './helpers/tree-pair.ts';

const p = standardPair('understudy-commit-redo-');
after(() => rmSync(p.base, { recursive: true, force: true }));

for (const recoverWith of ['perl', 'sh'] as const) {
  test(`a commit whose renames a crash lost: recover (${recoverWith} path) makes them again -> exactly map2`, async () => {
    const dir = join(p.base, `h-${recoverWith}`);
    execFileSync('cp', ['-a', p.t1, dir]);
    const host = await openDirHost(`dir:${dir}`);
    // the perl agent's steps: ... 'commit async' (step K-1), barrier (step K): killed at the barrier
    const clean = join(p.base, `clean-${recoverWith}`);
    execFileSync('cp', ['-a', p.t1, clean]);
    const steps = (await swap({ host: await openDirHost(`dir:${clean}`), store: p.store, map1: p.map1, map2: p.map2, agentEnv: { UNDERSTUDY_AGENT_PATH: 'perl' } })).agentSteps!;
    await assert.rejects(swap({ host, store: p.store, map1: p.map1, map2: p.map2, agentEnv: { UNDERSTUDY_AGENT_PATH: 'perl', UNDERSTUDY_AGENT_KILL_AT: String(steps) } }),
      (e: unknown) => isUnderstudyError(e) && e.code === 'needs-recovery');
    const [txid] = readdirSync(join(host.work, 'tx'));
    const txd = join(host.work, 'tx', txid!);
    assert.match(readFileSync(join(txd, 'journal'), 'utf8'), /^commit \S+ async$/m);
    assert.doesNotMatch(readFileSync(join(txd, 'journal'), 'utf8'), /^synced/m);
    // lose the rename of usr/bin/tool: its new object back in the staging, its old one back in the tree
    const plan = readFileSync(join(txd, 'plan'), 'utf8');
    const n = /^op (\d+) put 0 \/usr\/bin\/tool$/m.exec(plan)![1]!;
    const area = join(txd, 'a0');
    renameSync(join(dir, 'usr/bin/tool'), join(area, 'stage', n));
    linkSync(join(area, 'undo', n), join(dir, 'usr/bin/tool'));
    assert.notDeepEqual(snapshot(dir), snapshot(p.t2));
    // a new swap or rollback refuses until it is recovered
    await assert.rejects(swap({ host, store: p.store, map1: p.map1, map2: p.map2 }), (e: unknown) => isUnderstudyError(e) && e.code === 'needs-recovery');
    const r = await recover(host, { agentEnv: { UNDERSTUDY_AGENT_PATH: recoverWith } });
    assert.deepEqual(r.map((x) => x.result), ['committed']);
    assert.deepEqual(snapshot(dir), snapshot(p.t2));
    assert.deepEqual(readdirSync(area).sort(), ['undo'], 'staging dropped, undo kept for a rollback');
    assert.match(readFileSync(join(txd, 'journal'), 'utf8'), /^synced$/m);
  });
}
