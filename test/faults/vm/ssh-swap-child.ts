// A separate orchestrator process for the VM fault campaign: one swap or rollback onto an ssh:// host,
// so the campaign can kill -9 it at a random moment (its agent then runs on, or dies, on the host).
// usage: ssh-swap-child.ts swap|rollback TARGET STORE MAP1 MAP2 KEYFILE
import { readFileSync } from 'node:fs';
import { loadMap } from '../../../main/adapters/store/map-store.ts';
import { openSwapHost } from '../../../main/adapters/swap/open-host.ts';
import { swap } from '../../../main/adapters/swap/swap.ts';
import { rollbackLatest } from '../../../main/adapters/swap/rollback.ts';
import { sshConnect } from './vm-world.ts';

const [op, target, store, id1, id2, keyFile] = process.argv.slice(2) as [string, string, string, string, string, string];
const host = await openSwapHost(target, { connect: sshConnect(store, readFileSync(keyFile)) });
process.stdout.write('opened\n'); // the parent draws its kill moment from here on
try {
  if (op === 'swap') await swap({ host, store, map1: await loadMap(store, id1), map2: await loadMap(store, id2) });
  else await rollbackLatest({ host, store });
} finally { await host.close(); }
process.stdout.write('finished\n');
