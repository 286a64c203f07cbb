// Data shapes that cross the wire: runs, review evidence, hosts, maps. Plain JSON only (ISO dates as
// strings), so the same values travel over IPC, WebSocket and in-process calls unchanged.
import { z } from 'zod';

export const StageState = z.enum(['pending', 'active', 'done', 'failed', 'skipped', 'cancelled']);
export const LogStream = z.enum(['stdout', 'stderr', 'serial', 'info']);

/** Mirrors main/core/domain/events.ts RunEvent (a compile-time check in events.ts keeps them equal). */
export const RunEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('stage'), run: z.string(), stage: z.string(), state: StageState, at: z.string(),
    seconds: z.number().optional(), error: z.object({ code: z.string(), message: z.string() }).optional(),
    note: z.string().optional(),
  }),
  z.object({
    type: z.literal('progress'), run: z.string(), stage: z.string(), step: z.string().optional(),
    current: z.number().optional(), total: z.number().optional(),
    bytesPerSec: z.number().optional(), etaSec: z.number().optional(),
  }),
  z.object({
    type: z.literal('log'), run: z.string(), stream: LogStream, source: z.string(), text: z.string(), at: z.string(),
  }),
]);
export type RunEvent = z.infer<typeof RunEvent>;

export const RunKind = z.enum(['rehearse', 'upgrade', 'rollback']);
/** Where a run is: running stages, waiting for the operator, or finished one way or another. */
/** `interrupted`: the process driving it died; `understudy resume RUN` continues it. */
export const RunStatus = z.enum(['running', 'review', 'done', 'failed', 'cancelled', 'aborted', 'needs-recovery', 'interrupted']);
export type RunStatus = z.infer<typeof RunStatus>;

export const RunSummary = z.object({
  id: z.string(),
  kind: RunKind,
  target: z.string(),
  status: RunStatus,
  /** Contract outcome once finished: upgraded | rehearsed | check-failed | conflict | rolled-back | ... */
  outcome: z.string().optional(),
  stage: z.string().optional(),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  /** For a rollback run: the run whose swap it undid. */
  rollbackOf: z.string().optional(),
});
export type RunSummary = z.infer<typeof RunSummary>;

export const StageInfo = z.object({
  name: z.string(),
  state: StageState,
  startedAt: z.string().optional(),
  seconds: z.number().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  /** Why it was skipped. */
  note: z.string().optional(),
  /** Which attempt this is, once a resume ran the stage again (`understudy show` lists every attempt). */
  attempt: z.number().int().optional(),
});
export type StageInfo = z.infer<typeof StageInfo>;

/** A resume of the run after its process died: the stage it was in, the stage it continued at, why, and
 *  all that in words ("resumed: rewound from upgrading to booting (sandbox gone)"). */
export const ResumeNote = z.object({ at: z.string(), from: z.string(), to: z.string(), why: z.string().optional(), text: z.string() });

export const PackageChange = z.object({ name: z.string(), from: z.string().optional(), to: z.string().optional() });
/** Drift, or a sandbox-only path the upgrade changed with no clean merge (then with both diffs). */
export const Conflict = z.object({
  path: z.string(), host: z.string(), sandbox: z.string(), hostDiff: z.string().optional(), sandboxDiff: z.string().optional(),
});
export type Conflict = z.infer<typeof Conflict>;
/** A sandbox-only path the run changed and what became of it (core/workflow/run-types.ts KeptBack). */
export const KeptBack = z.object({
  path: z.string(),
  outcome: z.enum(['merged', 'conflict', 'identity', 'runtime']),
  sandbox: z.string(),
  why: z.string().optional(),
  sandboxDiff: z.string().optional(),
  hostDiff: z.string().optional(),
});
export type KeptBack = z.infer<typeof KeptBack>;
export const CheckResult = z.object({ cmd: z.string(), ok: z.boolean(), exitCode: z.number().nullable().optional(), output: z.string().optional() });
export type CheckResult = z.infer<typeof CheckResult>;

/** What the sandbox reached through understudy's repository proxy (core/domain/network-report.ts). */
export const NetworkReport = z.object({
  hosts: z.array(z.object({
    host: z.string(), port: z.number(), requests: z.number(), bytes: z.number(), cachedRequests: z.number(),
    cachedBytes: z.number(), tunnels: z.number(), via: z.string().optional(),
  })),
  refusals: z.array(z.object({ host: z.string(), port: z.number(), path: z.string().optional(), count: z.number(), reason: z.string() })),
  failures: z.array(z.object({
    host: z.string(), port: z.number(), path: z.string().optional(), cause: z.string(), phase: z.enum(['connect', 'transfer']),
    count: z.number(), at: z.string(),
  })),
  unreachable: z.array(z.object({ uri: z.string(), file: z.string(), reason: z.string() })),
});
export type NetworkReport = z.infer<typeof NetworkReport>;

/** The evidence the operator judges at the approval gate. */
export const Review = z.object({
  packages: z.object({ upgraded: z.array(PackageChange), installed: z.array(PackageChange), removed: z.array(PackageChange) }),
  files: z.object({ added: z.array(z.string()), changed: z.array(z.string()), removed: z.array(z.string()) }),
  conflicts: z.array(Conflict),
  /** Sandbox-only paths the run changed: merged into the host's version, a conflict, the host's identity kept, runtime state. */
  keptBack: z.array(KeptBack).optional(),
  checks: z.array(CheckResult),
  disruption: z.object({ restart: z.array(z.string()), reboot: z.boolean(), reason: z.string().optional() }),
  /** The sandbox's reboot after the upgrade: its one-line summary, and on failure the console's last lines. */
  reboot: z.object({
    rehearsed: z.boolean(), ok: z.boolean().optional(), summary: z.string(), kernel: z.string().optional(),
    failedUnits: z.array(z.string()).optional(), consoleTail: z.string().optional(),
  }).optional(),
  /** What the sandbox reached (repository hosts, bytes, refusals, upstream failures). */
  network: NetworkReport.optional(),
  /** The run stopped before the sandbox was captured again: packages/checks are known, files are not. */
  partial: z.boolean().optional(),
});
export type Review = z.infer<typeof Review>;

export const RunRequest = z.object({
  kind: z.enum(['rehearse', 'upgrade']),
  target: z.string().min(1),
  run: z.string().min(1),
  checks: z.array(z.string().min(1)).default([]),
  health: z.array(z.string().min(1)).default([]),
  hypervisor: z.enum(['qemu', 'libvirt']).default('qemu'),
  /** --mirror: a directory or http URL standing in for the host's http repositories (SOURCE_URI= for one). */
  mirror: z.string().optional(),
  /** --allow-host HOST[:PORT]: more hosts the sandbox may reach. */
  allowHost: z.array(z.string().min(1)).optional(),
  /** --upstream-proxy URL: the engine's way out, when it sits behind a proxy. */
  upstreamProxy: z.string().optional(),
  yes: z.boolean().optional(),
  /** SSH private key file on the engine's machine for ssh:// targets (default: ssh-agent). */
  identity: z.string().optional(),
  /** Record an unknown SSH host key instead of refusing it. */
  acceptNewHostKey: z.boolean().optional(),
});
export type RunRequest = z.infer<typeof RunRequest>;

export const RunDetail = RunSummary.extend({
  request: RunRequest.partial().optional(),
  stages: z.array(StageInfo),
  /** The most recent log lines (the live tail arrives as run:event log events). */
  logs: z.array(RunEvent.options[2]),
  review: Review.optional(),
  /** Seconds per stage once known. */
  timings: z.record(z.string(), z.number()).default({}),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  /** True when a swap landed and nothing has rolled it back yet. */
  canRollback: z.boolean().default(false),
  /** Every resume, oldest first. */
  resumes: z.array(ResumeNote).default([]),
});
export type RunDetail = z.infer<typeof RunDetail>;

export const Verdict = z.enum(['ok', 'warn', 'fail', 'unknown']);
export type Verdict = z.infer<typeof Verdict>;

export const MapInfo = z.object({
  /** content: the hash of the map's entries alone; identical trees share it whatever host or time. */
  id: z.string(), content: z.string().optional(), target: z.string(), host: z.string(), capturedAt: z.string(), files: z.number(), bytes: z.number(),
});
export type MapInfo = z.infer<typeof MapInfo>;

export const Assessment = z.object({
  target: z.string(),
  verdict: Verdict,
  items: z.array(z.object({ name: z.string(), verdict: Verdict, detail: z.string() })),
});
export type Assessment = z.infer<typeof Assessment>;

export const HostInfo = z.object({
  target: z.string(),
  host: z.string().optional(),
  lastMap: MapInfo.optional(),
  lastRun: RunSummary.optional(),
  verdict: Verdict.default('unknown'),
});
export type HostInfo = z.infer<typeof HostInfo>;

/** A fleet group: hosts that share one rehearsal (core/domain/fleet-groups.ts), decided before anything boots. */
export const FleetGroup = z.object({
  representative: z.string(), members: z.array(z.string()), label: z.string(), by: z.enum(['content', 'packages']),
});
export type FleetGroup = z.infer<typeof FleetGroup>;

/** How a host's run got its rehearsal: its own sandbox, or another host's verified path by path. */
export const RehearsalShare = z.object({
  mode: z.enum(['own', 'shared']),
  /** shared: whose rehearsal it took; own after a failed verification: whose it could not take. */
  fromRun: z.string().optional(),
  fromTarget: z.string().optional(),
  deltaPaths: z.number().optional(),
  /** Delta paths verified identical to the representative's map1 (content and metadata). */
  verified: z.number().optional(),
  already: z.number().optional(),
  merged: z.array(z.string()).optional(),
  /** Paths where this host differs outside the delta: kept as the host has them. */
  hostSpecific: z.number().optional(),
  /** What sent it to a rehearsal of its own. */
  conflicts: z.array(Conflict).optional(),
});
export type RehearsalShare = z.infer<typeof RehearsalShare>;

export const BatchHostView = z.object({
  target: z.string(), status: z.string(), outcome: z.string().optional(), run: z.string().optional(),
  /** Content id of the map1 the survey took. */
  content: z.string().optional(),
  /** Index into the batch's groups. */
  group: z.number().optional(),
  rehearsal: RehearsalShare.optional(),
  error: z.string().optional(),
  /** The pool member its sandbox ran on ('local': this machine); for a host that took another's
   *  rehearsal (sharedRehearsal), where that one ran. */
  member: z.string().optional(),
  /** Seconds in "waiting for a hypervisor", and from booting to releasing (not for a shared rehearsal). */
  waitSeconds: z.number().optional(),
  rehearsalSeconds: z.number().optional(),
  sharedRehearsal: z.boolean().optional(),
  /** Earlier attempts put back in the queue because their member was lost. */
  requeued: z.array(z.object({ run: z.string(), member: z.string().optional(), error: z.string() })).optional(),
});
export type BatchHostView = z.infer<typeof BatchHostView>;

export const BatchView = z.object({
  id: z.string(), kind: z.string(), createdAt: z.string(), finishedAt: z.string().optional(), ok: z.boolean().optional(),
  stopped: z.string().optional(), running: z.boolean().default(false),
  /** Groups from the survey (empty until every host was captured, or when sharing is off). */
  groups: z.array(FleetGroup).default([]),
  surveyFailed: z.array(z.object({ target: z.string(), error: z.string() })).default([]),
  sharing: z.boolean().default(true),
  hosts: z.array(BatchHostView),
});
export type BatchView = z.infer<typeof BatchView>;
