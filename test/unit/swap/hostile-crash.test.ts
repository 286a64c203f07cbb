// Crash safety where a directory and a symlink trade places (merged-/usr style): the agent is killed at
// every one of its steps of a swap and of a rollback, then recover; the tree must be exactly map1 or
// exactly map2 each time. Names below the symlink are the link target's, never the transaction's.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, basename } from 'node:path';
import { execFileSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { openDirHost } from '../../../main/adapters/swap/dir-host.ts';
import { swap } from '../../../main/adapters/swap/swap.ts';
import { rollbackLatest } from '../../../main/adapters/swap/rollback.ts';
import { recover } from '../../../main/adapters/swap/recover.ts';
import { snapshot } from './helpers/tree.ts';
import { treePair } from './helpers/tree-pair.ts';

const base = mkdtempSync(join(tmpdir(), 'understudy-crash-'));
after(() => rmSync(base, { recursive: true, force: true }));

test('agent kill -9 at every step: lib symlink -> directory (same names as its target), m directory -> symlink', async () => {
  const p = treePair(base, 'w',
    `mkdir -p usr/lib m; printf x > usr/lib/x; printf y > usr/lib/y; ln -s usr/lib lib; printf q > m/q; printf x > m/x
     find . -exec touch -h -d @1600000000.123456789 {} +`,
    `rm lib; mkdir lib; printf X > lib/x; printf y > lib/y; rm -r m; ln -s usr/lib m`);
  const snap1 = snapshot(p.t1), snap2 = snapshot(p.t2);
  let n = 0;
  const fresh = async () => {
    const dir = join(base, `h${n++}`);
    execFileSync('cp', ['-a', p.t1, dir]);
    return { dir, host: await openDirHost(`dir:${dir}`) };
  };
  const drop = (dir: string) => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(join(dirname(dir), `.understudy-${basename(dir)}`), { recursive: true, force: true });
  };
  const clean = await fresh();
  const steps = {
    swap: (await swap({ host: clean.host, store: p.store, map1: p.map1, map2: p.map2 })).agentSteps ?? 0,
    rollback: (await rollbackLatest({ host: clean.host, store: p.store })).agentSteps ?? 0,
  };
  assert.ok(steps.swap > 10 && steps.rollback > 10, JSON.stringify(steps));
  for (const phase of ['swap', 'rollback'] as const) {
    for (let k = 1; k <= steps[phase]; k++) {
      const { dir, host } = await fresh();
      if (phase === 'rollback') await swap({ host, store: p.store, map1: p.map1, map2: p.map2 });
      const agentEnv = { UNDERSTUDY_AGENT_KILL_AT: String(k) };
      await (phase === 'swap' ? swap({ host, store: p.store, map1: p.map1, map2: p.map2, agentEnv }) : rollbackLatest({ host, store: p.store, agentEnv }))
        .catch(() => { /* killed: recover decides */ });
      await recover(host);
      const s = snapshot(dir);
      if (!isDeepStrictEqual(s, snap1) && !isDeepStrictEqual(s, snap2)) assert.deepEqual(s, snap1, `${phase} killed at step ${k}: neither map1 nor map2`);
      drop(dir);
    }
  }
});
