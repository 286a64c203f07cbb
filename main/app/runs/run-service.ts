// The app-level API every face uses (CLI, WebSocket server, Electron IPC): start, resume, approve, abort,
// cancel and watch runs. One RunService per process and store; runs it started live in `active`.
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { StageServices } from '../../core/workflow/stage-services.ts';
import type { Resolution, RunInput, RunKind } from '../../core/workflow/run-types.ts';
import { RunStore, type RunFilter, type RunRecord, type StoredEvent } from '../run-store/run-store.ts';
import { resumableSnapshot, resumeRun, startRun, type RunHandle, type RunListener, type RunnerEvent } from './runner.ts';
import { newRunId } from './run-id.ts';
import type { StageActorOptions } from '../../core/workflow/stage-actors.ts';

export type StartInput = Omit<RunInput, 'runId' | 'kind'>;

export interface RunServiceOptions {
  /** The store directory (STORE/runs.db is opened there) or an already open RunStore. */
  store: string | RunStore;
  /** Builds the stage services for one run (real adapters in the app, fakes in tests). */
  services(input: RunInput): StageServices;
  actorOptions?: StageActorOptions;
}

export interface RunDetail {
  run: RunRecord;
  timings: ReturnType<RunStore['timings']>;
  events: StoredEvent[];
}

export class RunService {
  readonly store: RunStore;
  private readonly ownsStore: boolean;
  private readonly listeners = new Set<RunListener>();
  private readonly active = new Map<string, RunHandle>();

  constructor(private readonly opts: RunServiceOptions) {
    this.ownsStore = typeof opts.store === 'string';
    this.store = typeof opts.store === 'string' ? new RunStore(opts.store) : opts.store;
  }

  /** Starts a run; a batch passes the id it recorded for the host before the run exists. */
  startRun(kind: RunKind, input: StartInput, runId: string = newRunId()): RunHandle {
    const full: RunInput = { ...input, kind, runId };
    return this.track(startRun(this.deps(full), full));
  }

  resume(runId: string): RunHandle {
    const id = this.store.resolveId(runId);
    if (this.active.has(id)) throw new UnderstudyError('usage', `run ${id} is already running here`);
    resumableSnapshot(this.store, id); // refuse before building any services
    const rec = this.store.get(id)!;
    return this.track(resumeRun(this.deps(rec.input as unknown as RunInput), id));
  }

  /** Approve the review. Every conflict needs a choice ('host' keeps the host's file, 'sandbox' takes the new one). */
  approve(runId: string, resolutions: Record<string, Resolution> = {}): void {
    const h = this.inState(runId, 'review', 'approve');
    const open = (h.actor.getSnapshot().context.conflicts ?? []).filter((c) => !resolutions[c.path]).map((c) => c.path);
    if (open.length) throw new UnderstudyError('usage', `choose host or sandbox for every conflict first: ${open.join(', ')}`);
    h.send({ type: 'APPROVE', resolutions });
  }

  abort(runId: string, reason?: string): void {
    this.inState(runId, 'review', 'abort').send({ type: 'ABORT', ...(reason ? { reason } : {}) });
  }

  /** Stops the run from any state (work is aborted, the sandbox released, a started swap rolled back). */
  cancel(runId: string, reason?: string): void {
    this.handle(runId).send({ type: 'CANCEL', ...(reason ? { reason } : {}) });
  }

  subscribe(listener: RunListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(runId: string): RunHandle | undefined { return this.active.get(runId); }
  list(filter: RunFilter = {}): RunRecord[] { return this.store.list(filter); }

  detail(runId: string): RunDetail {
    const id = this.store.resolveId(runId);
    return { run: this.store.get(id)!, timings: this.store.timings(id), events: this.store.events(id) };
  }

  /** Cancels what is still running here and waits for it to wind down, then closes the store if it owns it. */
  async close(): Promise<void> {
    for (const h of this.active.values()) h.send({ type: 'CANCEL', reason: 'shutting down' });
    await Promise.allSettled([...this.active.values()].map((h) => h.finished));
    if (this.ownsStore) this.store.close();
  }

  private deps(input: RunInput) {
    return {
      store: this.store, services: this.opts.services(input), actorOptions: this.opts.actorOptions,
      listener: (e: RunnerEvent) => { for (const l of this.listeners) { try { l(e); } catch { /* a listener's bug must not stop the run */ } } },
    };
  }

  private track(h: RunHandle): RunHandle {
    this.active.set(h.runId, h);
    h.finished.finally(() => this.active.delete(h.runId)).catch(() => {});
    return h;
  }

  private handle(runId: string): RunHandle {
    const h = this.active.get(runId);
    if (!h) throw new UnderstudyError('usage', `run ${runId} is not running in this process`);
    return h;
  }

  private inState(runId: string, state: string, what: string): RunHandle {
    const h = this.handle(runId);
    if (h.state() !== state) throw new UnderstudyError('usage', `cannot ${what} run ${runId}: it is in ${h.state()}, not ${state}`);
    return h;
  }
}
