// The full VM fault run (npm run test:faults, next to the 204 dir: interruptions of swap-faults.test.ts):
// agent and orchestrator kill -9 and power cuts of the demo host VM during swaps and rollbacks, one boot
// plus one reboot per power cut. UNDERSTUDY_VM_FAULTS / UNDERSTUDY_FAULT_SEED as in vm/vm-suite.ts.
import { vmFaultSuite } from './vm/vm-suite.ts';

vmFaultSuite({ agent: 16, orchestrator: 12, power: 6, recapture: true });
