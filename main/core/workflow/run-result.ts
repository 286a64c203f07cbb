// A finished (or stopped) run as the contract's result object (cli-contract.md "Result fields").
import type { KeptBack, Outcome, RunContext } from './run-types.ts';

const FINAL_OUTCOMES: Record<string, Outcome> = {
  done: 'upgraded', rehearsed: 'rehearsed', 'check-failed': 'check-failed', conflict: 'conflict',
  'rolled-back': 'rolled-back', 'needs-recovery': 'needs-recovery', failed: 'failed', cancelled: 'cancelled',
  aborted: 'aborted',
};

/** The outcome a final state stands for; undefined while the run is not finished. */
export function outcomeOfState(state: string): Outcome | undefined {
  return FINAL_OUTCOMES[state];
}

export function isFinalState(state: string): boolean {
  return state in FINAL_OUTCOMES;
}

export interface RunResult {
  run: string;
  kind: string;
  target: string;
  outcome?: Outcome;
  state: string;
  map1?: string;
  map2?: string;
  delta?: { added: string[]; changed: string[]; removed: string[] };
  packages?: RunContext['packages'];
  checks?: RunContext['checks'];
  reboot?: RunContext['reboot'];
  network?: RunContext['network'];
  conflicts?: RunContext['conflicts'];
  /** Sandbox-only paths the run changed and what became of each (without the entries a choice would write). */
  keptBack?: Array<Omit<KeptBack, 'ifChosen'>>;
  swap?: Record<string, unknown>;
  health?: RunContext['health'];
  hypervisor?: string;
  accel?: string;
  placement?: RunContext['placement'];
  timings: Record<string, number>;
  error?: { code: string; message: string; stage: string };
  cleanupError?: string;
  resumes?: RunContext['resumes'];
  /** In a batch: its own sandbox, or whose rehearsal it took and what was verified (rehearsal-share.ts). */
  rehearsal?: RunContext['shared'];
}

export function runResult(context: RunContext, state: string): RunResult {
  const timings: Record<string, number> = {};
  for (const [stage, t] of Object.entries(context.timings)) if (t.seconds !== undefined) timings[stage] = round(t.seconds);
  const outcome = outcomeOfState(state);
  const r: RunResult = {
    run: context.input.runId, kind: context.input.kind, target: context.input.target, state, timings,
    ...(outcome ? { outcome } : {}),
  };
  const c = context;
  if (c.map1) r.map1 = c.map1;
  if (c.map2) r.map2 = c.map2;
  if (c.delta) r.delta = c.delta;
  if (c.packages) r.packages = c.packages;
  if (c.checks) r.checks = c.checks;
  if (c.reboot) r.reboot = c.reboot;
  if (c.network) r.network = c.network;
  if (c.conflicts) r.conflicts = c.conflicts;
  if (c.keptBack) r.keptBack = keptBackView(c.keptBack);
  if (c.health) r.health = c.health;
  if (c.hypervisor) r.hypervisor = c.hypervisor;
  if (c.accel) r.accel = c.accel;
  if (c.placement) r.placement = c.placement;
  if (c.swap || c.restart) {
    r.swap = { ...(c.swap ?? {}), restarted: c.restart?.restarted ?? [], rebooted: c.restart?.rebooted ?? false };
  }
  if (c.error && outcome !== 'upgraded' && outcome !== 'rehearsed') {
    r.error = { code: c.error.code, message: c.error.message, stage: c.error.stage };
  }
  if (c.cleanupError) r.cleanupError = c.cleanupError;
  if (c.resumes?.length) r.resumes = c.resumes;
  if (c.shared) r.rehearsal = c.shared;
  return r;
}

const round = (s: number) => Math.round(s * 1000) / 1000;

/** Kept-back items as reports show them: the entries a choice would write are internal. */
export function keptBackView(items: readonly KeptBack[]): Array<Omit<KeptBack, 'ifChosen'>> {
  return items.map(({ ifChosen: _internal, ...shown }) => shown);
}
