// CI-bounded fault injection on the demo host VM (one boot for the file): agent kill -9 at random journal
// steps, orchestrator kill -9 at random moments, power cuts (QMP quit) at random agent steps, during swaps
// and rollbacks; each ends exactly map1 or map2 after recover. The long run is test/faults/faults-vm.test.ts.
import { vmFaultSuite } from '../faults/vm/vm-suite.ts';

vmFaultSuite({ agent: 4, orchestrator: 3, power: 1, recapture: false });
