// The full fault run (npm run test:faults): 204 kill -9 interruptions of swaps and rollbacks on dir:
// hosts for each agent path (perl, POSIX sh) — the agent at random steps, the orchestrator (alone, or
// with its agent) at random moments — each followed by recover and an exact comparison: the tree is
// map1's or map2's, nothing in between.
import { faultSuite } from '../unit/swap/helpers/faults.ts';

for (const path of ['perl', 'sh'] as const) faultSuite({ agentSwap: 80, agentRollback: 60, orchestrator: 64, atLeast: 200 }, path);
