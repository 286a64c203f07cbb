// CI-bounded fault injection: 50 interruptions of swaps and rollbacks on dir: hosts, each followed by
// recover, each ending exactly map1 or exactly map2. The long run (>= 200) is test/faults/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { agentKillDuringRollback, agentKillDuringSwap, disposeWorld, makeWorld, orchestratorKill, type World } from './helpers/faults.ts';

let w: World;
before(async () => { w = await makeWorld(); });
after(() => { if (w) { console.log('fault tally', JSON.stringify(w.tally)); disposeWorld(w); } });

test('agent kill -9 at 20 random steps of a swap -> recover -> exactly old or new', async () => {
  for (let i = 0; i < 20; i++) await agentKillDuringSwap(w);
});

test('agent kill -9 at 14 random steps of a rollback -> recover -> exactly old or new', async () => {
  for (let i = 0; i < 14; i++) await agentKillDuringRollback(w);
});

test('orchestrator kill -9 (alone and with its agent) at 16 random moments of swaps and rollbacks -> recover -> exactly old or new', async () => {
  for (let i = 0; i < 16; i++) await orchestratorKill(w, i % 4 < 2 ? 'swap' : 'rollback', i % 2 === 0, 2500);
  const total = Object.values(w.tally).reduce((a, b) => a + b, 0);
  assert.equal(total, 50);
});
