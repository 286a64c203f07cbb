// The reboot rehearsal's decision (stage `rebooting`), its verdict on what the sandbox booted, and its
// one-line summary for Review, the CLI and the result. The decision reads the delta the swap will apply
// (map1 -> effective map2) and the package changes through boot-changes.ts, the same rule `--reboot auto`
// uses on the host.
import { bootChanges, describeBootChanges } from '../domain/boot-changes.ts';
import type { CheckResult, DeltaSummary, PackageChanges, RebootRehearsalPolicy, RebootReport, RunContext } from './run-types.ts';

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

/** What the sandbox showed after its reboot. */
export interface RebootObservation {
  /** The kernel version the host's boot configuration picks next, when known, and `uname -r`. */
  expected?: string;
  running: string;
  /** Whether systemd ran as init (/run/systemd/system) before and after the reboot. */
  systemdBefore: boolean;
  systemdAfter: boolean;
  /** `systemctl is-system-running --wait` (only with systemd after), its bound, and the jobs it waited on. */
  systemState?: string;
  settleSeconds: number;
  jobs?: string[];
  failedUnits: string[];
  checks: CheckResult[];
}

/** Not systemd before nor after: a host with another init (busybox, sysvinit, OpenRC ...). */
export const NO_SYSTEMD = 'no systemd';

/**
 * What is wrong with the boot, if anything. On a host whose init is not systemd, the boot is judged by
 * SSH answering, the kernel it runs and the checks: there is no system state or unit to read. A host that
 * ran systemd before the reboot and not after it is a failure.
 */
export function rebootProblems(o: RebootObservation): string[] {
  const problems: string[] = [];
  if (o.expected && o.running !== o.expected) problems.push(`it runs kernel ${o.running}, not ${o.expected}`);
  if (o.systemdBefore && !o.systemdAfter) problems.push('systemd ran as init before the reboot and does not after it');
  if (o.systemdAfter && o.systemState !== 'running' && o.systemState !== 'degraded') {
    problems.push(`systemd is ${o.systemState ?? 'unknown'} after ${o.settleSeconds} s${o.jobs?.length ? ` (waiting on: ${o.jobs.join('; ')})` : ''}`);
  }
  if (o.failedUnits.length) problems.push(`failed unit${o.failedUnits.length > 1 ? 's' : ''} after the reboot: ${o.failedUnits.join(', ')}`);
  const bad = o.checks.filter((c) => !c.ok);
  if (bad.length) problems.push(`check${bad.length > 1 ? 's' : ''} failed after the reboot: ${bad.map((c) => c.cmd).join('; ')}`);
  return problems;
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
  if (r.systemState === NO_SYSTEMD) return `reboot rehearsed: ${what} booted${took} (no systemd: SSH, the kernel and the checks judge it), ${checkText}`;
  return `reboot rehearsed: ${what} booted${took}, ${plural(failed.length, 'failed unit')}${before}, ${checkText}`;
}
