// After a rollback, the host runs what it ran before the swap only once the services the rollback changed
// are restarted, or, when it put back another kernel (a release upgrade rolled back), after a reboot: the
// same restart plan as after a swap, over the paths the rollback wrote (map it left -> map it restored).
import { loadMap } from '../../adapters/store/map-store.ts';
import { diffMaps } from '../../core/domain/map-diff.ts';
import type { RebootPolicy, RestartResult } from '../../core/workflow/run-types.ts';
import type { StageIo } from '../../core/workflow/stage-services.ts';
import type { RemoteShell } from '../../core/ports/remote-shell.port.ts';
import { restartAfterSwap } from './restart.ts';
import { sshConnector, type SshChoice } from './ssh-connector.ts';

/** `held`: a connection opened before the rollback (held-connection.ts): a rollback can stop new logins too. */
export async function restartAfterRollback(o: {
  store: string; target: string; from?: string; to?: string; reboot: RebootPolicy; ssh: SshChoice; io: StageIo; held?: RemoteShell;
}): Promise<RestartResult> {
  if (!o.from || !o.to || o.reboot === 'never' || o.target.startsWith('dir:')) return { restarted: [], rebooted: false };
  let delta;
  try {
    const [a, b] = await Promise.all([loadMap(o.store, o.from), loadMap(o.store, o.to)]);
    delta = diffMaps(a.manifest, b.manifest, false);
  } catch (e) { // the rollback itself is done; say why nothing is restarted
    o.io.log('stderr', 'restart', `rolled back, but the maps to plan restarts from are not readable (${(e as Error).message}): restart services or reboot yourself`);
    return { restarted: [], rebooted: false };
  }
  return restartAfterSwap(o.target, o.reboot, delta, o.io, sshConnector(o.store, o.ssh, o.io.signal), o.held);
}
