// The reboot rehearsal's decision (stage `rebooting`) and its one-line summary for Review, the CLI and
// the result. The decision reads the delta the swap will apply (map1 -> effective map2) and the package
// changes through boot-changes.ts, the same rule `--reboot auto` uses on the host.
import { bootChanges, describeBootChanges } from '../domain/boot-changes.ts';
import type { DeltaSummary, PackageChanges, RebootRehearsalPolicy, RebootReport, RunContext } from './run-types.ts';

export interface RebootRehearsalPlan { rehearse: boolean; reason: string; because: string[] }

export function planRebootRehearsal(policy: RebootRehearsalPolicy, delta: DeltaSummary | undefined,
  packages: PackageChanges | undefined): RebootRehearsalPlan {
  const because = describeBootChanges(bootChanges(delta, packages).all);
  if (policy === 'never') return { rehearse: false, reason: 'not rehearsed: --reboot-rehearsal never', because };
  if (because.length) return { rehearse: true, reason: `what boots changed: ${because.join(', ')}`, because };
  if (policy === 'always') return { rehearse: true, reason: 'nothing that boots changed; rehearsed because of --reboot-rehearsal always', because };
  return {
    rehearse: false, because,
    reason: 'not rehearsed: nothing that boots changed (no kernel, initrd, module, libc, systemd, fstab, crypttab, '
      + 'bootloader, unit-enablement or default-target change in the delta)',
  };
}

/** Why the rebooting stage was skipped, when it was (the stage list shows it). */
export function skippedStageNote(ctx: Pick<RunContext, 'reboot'>, stage: string): string | undefined {
  return stage === 'rebooting' && ctx.reboot && !ctx.reboot.rehearsed ? ctx.reboot.reason : undefined;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "reboot rehearsed: 6.12.9-amd64 booted in 41 s, 0 failed units, 2 checks passed", or what failed. */
export function rebootSummary(r: RebootReport): string {
  if (!r.rehearsed) return `reboot ${r.reason}`;
  const what = r.running ?? r.kernel?.version ?? r.kernel?.path ?? 'the kernel';
  if (r.ok === false) return `reboot rehearsal FAILED: ${r.failure ?? 'see the console'}`;
  const checks = r.checks ?? [];
  const failed = r.failedUnits ?? [];
  const before = r.failedBefore?.length ? ` (${plural(r.failedBefore.length, 'unit')} already failed before it: ${r.failedBefore.join(', ')})` : '';
  const took = r.bootSeconds !== undefined ? ` in ${Math.round(r.bootSeconds)} s` : '';
  const checkText = checks.length ? `${plural(checks.length, 'check')} passed` : 'no checks given';
  return `reboot rehearsed: ${what} booted${took}, ${plural(failed.length, 'failed unit')}${before}, ${checkText}`;
}
