// The full fault run (npm run test:faults): >= 200 kill -9 interruptions of swaps and rollbacks on dir:
// hosts — the agent at random steps, the orchestrator (alone, or with its agent) at random moments —
// each followed by recover and an exact comparison: the tree is map1's or map2's, nothing in between.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { agentKillDuringRollback, agentKillDuringSwap, disposeWorld, makeWorld, orchestratorKill, type World } from '../unit/swap/helpers/faults.ts';

let w: World;
before(async () => { w = await makeWorld(); });
after(() => { if (w) { console.log('fault tally', JSON.stringify(w.tally)); disposeWorld(w); } });

test('agent kill -9 at 80 random steps of a swap', async () => {
  for (let i = 0; i < 80; i++) await agentKillDuringSwap(w);
});

test('agent kill -9 at 60 random steps of a rollback', async () => {
  for (let i = 0; i < 60; i++) await agentKillDuringRollback(w);
});

test('orchestrator kill -9 at 64 random moments (swap/rollback, alone/with its agent)', async () => {
  for (let i = 0; i < 64; i++) await orchestratorKill(w, i % 4 < 2 ? 'swap' : 'rollback', i % 2 === 0, 3000);
  const total = Object.values(w.tally).reduce((a, b) => a + b, 0);
  assert.ok(total >= 200, `${total} interruptions`);
});
