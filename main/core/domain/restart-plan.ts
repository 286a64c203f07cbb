// What a swap's delta means for the running host: reboot (kernel, initrd, libc, systemd changed) or
// restart the services whose unit files changed (binaries are matched against running units by the
// caller). Pure, so the rule is unit-tested and shown in the review before anything runs.
import { bootChanges } from './boot-changes.ts';

export type RebootChoice = 'auto' | 'never' | 'always';

/**
 * Why a reboot policy cannot be honoured on a target, if it cannot: understudy never reboots the machine
 * it runs on (the `local` target), so `always` there is refused before anything is done.
 */
export function rebootRefusal(targetKind: string, reboot: RebootChoice): string | undefined {
  if (targetKind !== 'local' || reboot !== 'always') return undefined;
  return '--reboot always cannot be honoured on the local target: understudy never reboots the machine it runs on; use --reboot auto or never and reboot it yourself';
}

// unit files of services, sockets and timers; templates (name@.service) restart through their socket
const UNIT_FILE = /^(?:usr\/)?(?:lib|etc)\/systemd\/system\/([^/@]+\.(?:service|socket|timer))$/;
// a unit the upgrade enabled (the package's postinst did `systemctl enable`): apt on the host would also
// have started it, so the swap starts it when it is not running
const ENABLED_LINK = /^etc\/systemd\/system\/[^/]+\.(?:target|service|socket|timer)\.wants\/([^/@]+\.(?:service|socket|timer))$/;

export interface RestartPlan {
  reboot: boolean;
  /** Why a reboot is needed (paths that triggered it). */
  rebootBecause: string[];
  /** Units whose unit files changed. */
  units: string[];
  /** Changed executables and libraries: units running them need a restart. */
  binaries: string[];
  /** Units the upgrade enabled: started when not running (as apt would on the host). */
  start: string[];
}

/** `changedPaths`: the delta's added and changed paths. The reboot rule is boot-changes.ts's tier 'reboot',
 *  the same table that decides the sandbox's reboot rehearsal. */
export function planRestart(changedPaths: string[], policy: RebootChoice): RestartPlan {
  const rebootBecause = bootChanges({ changed: changedPaths }).rebootPaths;
  const units = [...new Set(changedPaths.flatMap((p) => { const m = UNIT_FILE.exec(p); return m ? [m[1]!] : []; }))].sort();
  const binaries = changedPaths.filter((p) => /^(usr\/)?(s?bin|lib|libexec)\//.test(p) && !/^(usr\/)?lib\/systemd\/(system|user)\//.test(p))
    .map((p) => '/' + p);
  const reboot = policy === 'always' || (policy === 'auto' && rebootBecause.length > 0);
  const start = [...new Set(changedPaths.flatMap((p) => { const m = ENABLED_LINK.exec(p); return m ? [m[1]!] : []; }))].sort();
  return { reboot, rebootBecause, units, binaries, start };
}
