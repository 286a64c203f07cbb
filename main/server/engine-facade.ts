// The one interface every face (WebSocket server, Electron IPC, tests) drives the engine through.
// It speaks contract shapes, so the routers stay thin; the composition root adapts the run service
// (main/app/runs) onto it. Methods throw UnderstudyError-like errors ({code, message}) on failure.
import type {
  Assessment, BatchView, CommandResult, ConflictChoice, HostInfo, MapInfo, RunDetail, RunRequest, RunStatus, RunSummary,
} from '../contract/index.ts';
import type { RunEvent } from '../core/domain/events.ts';

export interface RunFilter {
  host?: string;
  status?: RunStatus;
  outcome?: string;
  limit?: number;
}

export interface EngineFacade {
  listRuns(filter: RunFilter): Promise<RunSummary[]>;
  getRun(run: string): Promise<RunDetail>;
  /** Starts a rehearse or upgrade run and returns its id at once; progress arrives as events. */
  startRun(req: RunRequest): Promise<{ run: string }>;
  approve(run: string, choices: ConflictChoice[]): Promise<void>;
  abort(run: string): Promise<void>;
  cancel(run: string): Promise<void>;
  /** Continues an interrupted run in this process. */
  resume(run: string): Promise<void>;
  /** Starts a rollback of a run's swap; returns the new rollback run's id. */
  rollback(run: string): Promise<{ run: string }>;
  listHosts(): Promise<HostInfo[]>;
  assess(target: string): Promise<Assessment>;
  listMaps(): Promise<MapInfo[]>;
  /** Fleet batches, newest first, with their groups and each host's rehearsal. */
  listBatches(limit?: number): Promise<BatchView[]>;
  /** Every run's events (stage/progress/log) and summary changes, for fan-out to connected faces. */
  subscribe(listener: EngineListener): () => void;
}

export interface EngineListener {
  event(e: RunEvent): void;
  updated(summary: RunSummary): void;
}

// Keep facade results assignable to the contract's results (compile-time only).
type Check<A, B> = [A] extends [B] ? true : false;
const _typesAgree: [
  Check<RunSummary[], CommandResult<'runs:list'>>,
  Check<RunDetail, CommandResult<'runs:get'>>,
  Check<HostInfo[], CommandResult<'hosts:list'>>,
] = [true, true, true];
void _typesAgree;
