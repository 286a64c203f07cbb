// CI-bounded fault injection: 50 interruptions of swaps and rollbacks on dir: hosts for each agent path
// (perl, POSIX sh), each followed by recover, each ending exactly map1 or exactly map2. The long run
// (>= 200 per path) is test/faults/.
import { faultSuite } from './helpers/faults.ts';

for (const path of ['perl', 'sh'] as const) faultSuite({ agentSwap: 20, agentRollback: 14, orchestrator: 16, atLeast: 50 }, path);
