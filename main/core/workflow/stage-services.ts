// The async work the upgrade machine needs, one function per stage. The app composes real adapters
// (capture, sandbox, swap ...) into a StageServices; workflow tests use main/adapters/fake.
//
// Rules every implementation follows (the machine and `resume` rely on them):
// - Honor `io.signal`: stop the work, release what this call created, then reject.
// - Idempotent: a stage may be re-entered after the orchestrator died in the middle of it (resume).
//   Running it again with the same input must converge to the same result (e.g. capture reuses objects
//   already in the store, bootSandbox first disposes a sandbox left by an earlier attempt of the same run,
//   swap finds its journal and finishes or skips).
// - Fail with UnderstudyError and the right code: the machine's guards decide on `code` only.
//   check-failed / health-failed may also be signalled by returning results with ok:false.
// - releaseSandbox and rollback are safe to call at any time, any number of times.
import type { RunEvent } from '../domain/events.ts';
import type { RehearsalShare } from './rehearsal-share.ts';
import type {
  CheckResult, Conflict, DeltaSummary, HealthResult, KeptBack, PackageChanges, PreflightItem, RebootPolicy, RebootReport, Resolution,
  RestartResult, RunInput, SandboxRef, SwapStats, Placement,
} from './run-types.ts';
import type { NetworkReport } from '../domain/network-report.ts';

export interface StageIo {
  runId: string;
  signal: AbortSignal;
  /** Progress of long work (bytes/items); `total` omitted when unknown. */
  progress(p: { step?: string; current?: number; total?: number; bytesPerSec?: number; etaSec?: number }): void;
  /** A line of command output, serial console or an informational message. */
  log(stream: 'stdout' | 'stderr' | 'serial' | 'info', source: string, text: string): void;
}

/** Receives the progress and log events stages report (the runner fans them out). */
export type RunEventSink = (e: RunEvent) => void;

export interface StageServices {
  preflight(a: { input: RunInput }, io: StageIo): Promise<{ items: PreflightItem[] }>;
  captureHost(a: { target: string; options: Record<string, unknown> }, io: StageIo): Promise<{ map1: string }>;
  /** In a batch (shared-rehearsal.ts) it also says how the run gets its rehearsal (`shared`). */
  buildImage(a: { map1: string; options: Record<string, unknown> }, io: StageIo): Promise<{ image: string; shared?: RehearsalShare }>;
  /**
   * Waits for a free slot on a hypervisor of the run's pool (the stage 'waiting for a hypervisor') and
   * holds it for the sandbox bootSandbox starts; the slot is freed by releaseSandbox.
   */
  placeSandbox(a: { map1: string; image: string; options: Record<string, unknown> }, io: StageIo): Promise<{ placement: Placement }>;
  /** `previous`: the sandbox an earlier attempt of this run booted (its orchestrator died): whatever is
   *  left of it is destroyed first. `placement`: where the sandbox went when the boot had to place it
   *  itself (a run resumed at booting, or its slot's member was lost before the boot). */
  bootSandbox(a: { image: string; map1: string; options: Record<string, unknown>; previous?: SandboxRef }, io: StageIo):
    Promise<{ sandbox: SandboxRef; hypervisor: string; accel: string; placement?: Placement }>;
  /** `network`: what the sandbox reached so far (a failure carries it in details.network too). */
  runUpgrade(a: { sandbox: SandboxRef; command: string }, io: StageIo): Promise<{ packages: PackageChanges; network?: NetworkReport }>;
  runChecks(a: { sandbox: SandboxRef; checks: string[] }, io: StageIo): Promise<{ checks: CheckResult[]; network?: NetworkReport }>;
  /** map2 is the upgrade's effect on map1 (sandbox-only paths decided); keptBack says what became of those. */
  captureSandbox(a: { sandbox: SandboxRef; map1: string }, io: StageIo): Promise<{ map2: string; delta: DeltaSummary; keptBack?: KeptBack[] }>;
  /**
   * Shuts the sandbox down and boots it again from its own disk (now map2) on the kernel and initrd the
   * host's boot configuration takes next (read from map2), then runs the checks again and lists the failed
   * units. Called only when the machine decided to rehearse the reboot (`reason`/`because` say why). A
   * boot or check that fails is a report with ok:false (the machine makes it check-failed); only trouble
   * of understudy's own (a hypervisor that cannot start) throws. Returns the sandbox's new handle.
   */
  rehearseReboot(a: { sandbox: SandboxRef; map1: string; map2: string; checks: string[]; reason: string; because: string[] },
    io: StageIo): Promise<{ reboot: RebootReport; sandbox: SandboxRef }>;
  /** Stops and removes the sandbox and the run's disk images, or what is left of a sandbox whose
   *  orchestrator died. No-op when there is nothing left. */
  releaseSandbox(a: { sandbox?: SandboxRef; image?: string }, io: StageIo): Promise<void>;
  /** Paths of the delta whose host copy drifted from map1 since the capture, and kept-back paths with no clean
   *  merge. Host untouched. */
  findConflicts(a: { target: string; map1: string; map2: string; delta: DeltaSummary; keptBack?: KeptBack[] }, io: StageIo):
    Promise<{ conflicts: Conflict[] }>;
  /** Applies map1 -> map2 (with the kept-back versions the operator chose: then map2 is the map that landed)
   *  through the crash-safe journal; throws conflict (host untouched) or needs-recovery. */
  swap(a: { target: string; map1: string; map2: string; resolutions: Record<string, Resolution>; keptBack?: KeptBack[] }, io: StageIo):
    Promise<{ swap: SwapStats; map2?: string }>;
  restart(a: { target: string; reboot: RebootPolicy; delta?: DeltaSummary; packages?: PackageChanges }, io: StageIo):
    Promise<RestartResult>;
  checkHealth(a: { target: string; health: string[] }, io: StageIo): Promise<{ health: HealthResult[] }>;
  /** Puts back map1 over whatever the swap changed, then restarts what it changed (or reboots, as `reboot`
   *  says, when it put back another kernel); throws needs-recovery when it can neither finish nor undo. */
  rollback(a: { target: string; map1: string; reboot: RebootPolicy }, io: StageIo): Promise<void>;
  /**
   * Called once the run reached its final state. Destroys whatever of the run the services still hold and
   * names it: anything named is a bug (a sandbox that outlived its run), which the run reports as its
   * cleanup error. Absent: the services hold nothing between stages.
   */
  leftovers?(io: StageIo): Promise<string[]>;
}

export type StageServiceName = keyof StageServices;
