// What a run is given (RunInput), what it learns on the way (RunContext) and how it ends (Outcome).
// Everything here is plain JSON: the context is persisted after every transition and restored on resume.
import type { NetworkReport } from '../domain/network-report.ts';
import type { RehearsalShare } from './rehearsal-share.ts';
import type { Entry } from '../domain/manifest.ts';

export type RunKind = 'rehearse' | 'upgrade';
export type RebootPolicy = 'auto' | 'never' | 'always';
/** --reboot-rehearsal: reboot the sandbox when what boots changed (auto), always, or never. */
export type RebootRehearsalPolicy = 'auto' | 'always' | 'never';

export interface RunInput {
  runId: string;
  kind: RunKind;
  /** 'ssh://user@host[:port]' | 'dir:PATH' | 'local' (see cli-contract.md). */
  target: string;
  /** The upgrade command run in the sandbox (and, through the swap, its effect on the host). */
  command: string;
  /** --check commands: run in the sandbox after `command`. */
  checks: string[];
  /** --health commands: run on the host after the swap. */
  health: string[];
  /** --yes: approve the review without asking (conflicts still stop the run). */
  yes: boolean;
  reboot: RebootPolicy;
  /** Absent in runs recorded before it existed: auto. */
  rebootRehearsal?: RebootRehearsalPolicy;
  /** Adapter options the core passes through untouched (hypervisor, libvirtUri, identity, mirror ...). */
  options: Record<string, unknown>;
}

export interface DeltaSummary { added: string[]; changed: string[]; removed: string[] }
export interface PackageChange { name: string; from?: string; to?: string }
export interface PackageChanges { upgraded: PackageChange[]; installed: PackageChange[]; removed: PackageChange[] }
export interface CheckResult { cmd: string; ok: boolean; exitCode: number | null; output?: string }
export interface HealthResult { cmd: string; ok: boolean; exitCode?: number | null; output?: string }
/** A path the swap would write whose host copy changed since map1 (drift), or a sandbox-only path the
 *  upgrade changed with no clean merge into the host's version (then with both diffs). */
export interface Conflict { path: string; host: string; sandbox: string; hostDiff?: string; sandboxDiff?: string }
/**
 * A sandbox-only path (adapters/sandbox/sandbox-edits.ts) that the sandbox's run changed, and what the swap
 * does with it. merged: the upgrade's change, applied to the host's own version, lands; conflict: no clean
 * merge (or a path the operator always decides), the operator chooses at review; identity: host keys and
 * machine ids, the host's are kept unless the operator chooses the upgrade's; runtime: state a running
 * machine rewrites by itself, never applied.
 */
export interface KeptBack {
  path: string;
  outcome: 'merged' | 'conflict' | 'identity' | 'runtime';
  /** What the run did to the sandbox's own version (e.g. 'content changed'). */
  sandbox: string;
  /** Why it is not applied as it is (conflict, identity). */
  why?: string;
  /** The upgrade's change to a text file, as a diff of the sandbox's version before and after it. */
  sandboxDiff?: string;
  /** What lands on the host (merged) or would land if chosen (conflict, identity), as a diff of the host's file. */
  hostDiff?: string;
  /** Entries the swap writes when the operator chooses the upgrade's version (parents first; [] removes the
   *  path). Absent: nothing to choose. */
  ifChosen?: Entry[];
}
export type Resolution = 'host' | 'sandbox';
export interface SwapStats { files: number; bytesSent: number; seconds: number; windowSeconds: number }
export interface RestartResult { restarted: string[]; rebooted: boolean }
export interface PreflightItem { name: string; ok: boolean; detail?: string }

/** The sandbox's reboot after the upgrade (stage `rebooting`): skipped and why, or what booted and how it went. */
export interface RebootReport {
  rehearsed: boolean;
  /** Why it ran or was skipped (the changes to what boots, or the policy). */
  reason: string;
  /** The changes to what boots that triggered it (boot-changes.ts phrases). */
  because: string[];
  /** What booted: map2's kernel the host's boot configuration picks next, and why that one. */
  kernel?: { version?: string; path: string; initrds: string[]; chosenBy: string; cmdline: string };
  /** `uname -r` after the reboot. */
  running?: string;
  /** Seconds from the VM's start to a settled system (systemctl is-system-running --wait). */
  bootSeconds?: number;
  /** What `systemctl is-system-running --wait` said (running, degraded, ...); 'no systemd' on a host whose init is another. */
  systemState?: string;
  /** Units failed after the reboot that were not failed before it. */
  failedUnits?: string[];
  /** Units already failed before the reboot (listed, not blamed on it). */
  failedBefore?: string[];
  /** The --check commands, run again after the reboot. */
  checks?: CheckResult[];
  ok?: boolean;
  /** What went wrong, when ok is false. */
  failure?: string;
  /** The reboot's last serial console lines when it failed (the whole console is in the run's directory). */
  consoleTail?: string;
}
/** An opaque, JSON-serializable handle to a running sandbox (VM id, ports, temp dirs ...). */
export interface SandboxRef { id: string; [k: string]: unknown }

/** A stage's latest attempt (`attempts` counts them; the run store keeps every attempt's times). */
export interface StageTiming { startedAt: string; seconds?: number; attempts: number }
/** A resume of the run: the stage it was interrupted in, the stage it continued at, and why there. */
export interface ResumeNote { at: string; from: string; to: string; why?: string }
export interface RunFailure { stage: string; code: string; message: string; details?: Record<string, unknown> }

/** Where the cleanup/rollback path leads once it finishes. */
export type Ending = 'failed' | 'cancelled' | 'check-failed' | 'conflict' | 'aborted' | 'rolled-back';

export interface RunContext {
  input: RunInput;
  preflight?: PreflightItem[];
  map1?: string;
  image?: string;
  sandbox?: SandboxRef;
  hypervisor?: string;
  accel?: string;
  /** Where the sandbox ran (a pool member) and how long the run waited for it. */
  placement?: Placement;
  packages?: PackageChanges;
  checks?: CheckResult[];
  /** What the sandbox reached through understudy's repository proxy (hosts, bytes, refusals, failures). */
  network?: NetworkReport;
  map2?: string;
  delta?: DeltaSummary;
  reboot?: RebootReport;
  /** Sandbox-only paths the run changed and what became of each (capture2). */
  keptBack?: KeptBack[];
  conflicts?: Conflict[];
  resolutions?: Record<string, Resolution>;
  /** Set once the swap stage was entered: from then on the host may differ from map1. */
  hostTouched?: boolean;
  swap?: SwapStats;
  restart?: RestartResult;
  health?: HealthResult[];
  timings: Record<string, StageTiming>;
  error?: RunFailure;
  ending?: Ending;
  /** Set when releasing the sandbox failed on the way out (the run's outcome stands; resources may leak). */
  cleanupError?: string;
  /** Every time the run was resumed after its orchestrator died (core/workflow/resume-plan.ts). */
  resumes?: ResumeNote[];
  /** In a batch: how this run got its rehearsal (its own sandbox, or its group's, verified path by path). */
  shared?: RehearsalShare;
}

/** Fields a stage may write into the context (its actor's output). */
export type ContextPatch = Partial<Omit<RunContext, 'input' | 'timings' | 'error' | 'ending' | 'cleanupError' | 'resumes'>>;

export type Outcome =
  | 'upgraded' | 'rehearsed' | 'check-failed' | 'conflict' | 'rolled-back' | 'needs-recovery'
  | 'failed' | 'cancelled' | 'aborted';

/** Exit codes of cli-contract.md per outcome. */
export function exitCodeForOutcome(outcome: Outcome): number {
  switch (outcome) {
    case 'upgraded': case 'rehearsed': return 0;
    case 'check-failed': return 4;
    case 'conflict': return 5;
    case 'rolled-back': return 6;
    case 'needs-recovery': return 7;
    default: return 1;
  }
}

/** The stage in which a run waits for a free hypervisor of its pool (instant when one is free). */
export const WAITING_STAGE = 'waiting for a hypervisor';

/** Where a run's sandbox is placed: a pool member, or the member whose rehearsal a follower shares. */
export interface Placement {
  /** The member's name ('local' for this machine). */
  member: string;
  /** Seconds the run waited for a free slot. */
  waitedSeconds: number;
  /** A shared rehearsal's follower: it boots nothing; `member` is where the owner's sandbox ran. */
  shared?: boolean;
}
