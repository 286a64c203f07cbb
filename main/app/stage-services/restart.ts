// After the swap: nothing runs on a dir: host (contract); on a real host, daemon-reload, then restart the
// units whose unit files or binaries changed, or reboot when the kernel, initrd, libc or systemd changed.
import { UnderstudyError } from '../../core/domain/errors.ts';
import { parseTarget } from '../../core/domain/map-target.ts';
import { planRestart, type RebootChoice } from '../../core/domain/restart-plan.ts';
import type { DeltaSummary, RestartResult } from '../../core/workflow/run-types.ts';
import type { StageIo } from '../../core/workflow/stage-services.ts';

export async function restartAfterSwap(target: string, reboot: RebootChoice, delta: DeltaSummary | undefined, io: StageIo): Promise<RestartResult> {
  const t = parseTarget(target);
  if (t.kind === 'dir') {
    io.log('info', 'restart', 'dir: target: no service restarts, no reboot');
    return { restarted: [], rebooted: false };
  }
  const plan = planRestart([...(delta?.added ?? []), ...(delta?.changed ?? [])], reboot);
  throw new UnderstudyError('not-implemented',
    `restarting services on ${t.kind} targets is not built yet (would ${plan.reboot ? 'reboot' : `restart ${plan.units.join(', ') || 'nothing'}`})`);
}
