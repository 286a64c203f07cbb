// Fleet batches in the run store (STORE/runs.db, schema v2+): what a batch was started with, the scheduler's
// state per host, the run each host got and each finished host's report. Written as the batch goes, so a
// batch whose orchestrator died can be resumed as one (app/runs/batch-runner.ts).
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { BatchState, HostStatus } from '../../core/workflow/batch-plan.ts';
import { likePrefix, type RunStore } from './run-store.ts';
import { ownerToken } from '../../adapters/local/process-owner.ts';
import type { Survey } from '../runs/fleet-survey.ts';

export interface BatchHostRecord {
  position: number;
  target: string;
  status: HostStatus;
  outcome?: string;
  runId?: string;
  report?: Record<string, unknown>;
  /** Earlier attempts put back in the queue because their pool member was lost (oldest first). */
  requeued?: RequeuedAttempt[];
}

/** A host's attempt that went back in the queue: its run, the pool member it lost and the error. */
export interface RequeuedAttempt { run: string; member?: string; error: string }

export interface BatchRecord<R = Record<string, unknown>> {
  id: string;
  kind: string;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
  ownerPid?: number;
  ownerToken?: string;
  request: R;
  /** The survey (groups), once every host was captured; absent when sharing is off or it never finished. */
  survey?: StoredSurvey;
  stopped?: string;
  ok?: boolean;
  hosts: BatchHostRecord[];
}

interface BatchRow {
  id: string; kind: string; created_at: string; updated_at: string; finished_at: string | null; owner_pid: number | null;
  owner_token: string | null; request: string; stopped: string | null; ok: number | null; survey: string | null;
}
interface HostRow {
  position: number; target: string; status: string; outcome: string | null; run_id: string | null; report: string | null; requeued: string | null;
}

/** A batch's survey as saved: the survey and whether the batch shares rehearsals. */
export type StoredSurvey = Survey & { sharing: boolean };

/** What changes together with the scheduler state: a host's run id (before the run starts), its report, or
 *  its attempts put back in the queue (all of them, each time one is added). */
export interface HostChange { target: string; runId?: string; report?: unknown; requeued?: RequeuedAttempt[] }

export class BatchStore {
  constructor(private readonly runs: RunStore) {}

  private get db() { return this.runs.db; }

  /** False on a store opened read-only that predates batches (schema v1). */
  available(): boolean {
    return Boolean(this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'batches'").get());
  }

  create(id: string, kind: string, request: unknown, state: BatchState): void {
    const now = new Date().toISOString();
    const addHost = this.db.prepare('INSERT INTO batch_hosts (batch_id, position, target, status) VALUES (?, ?, ?, ?)');
    try {
      this.db.transaction(() => {
        this.db.prepare(`INSERT INTO batches (id, kind, created_at, updated_at, owner_pid, owner_token, request) VALUES (?, ?, ?, ?, ?, ?, ?)`)
          .run(id, kind, now, now, process.pid, ownerToken(), JSON.stringify(request));
        state.hosts.forEach((h, i) => addHost.run(id, i, h.target, h.status));
      })();
    } catch (err) {
      throw new UnderstudyError('io', `cannot record batch ${id}: ${(err as Error).message}`);
    }
  }

  /** One transaction: every host's status and outcome, why the batch stopped, and the host changes given. */
  saveState(id: string, state: BatchState, changes: HostChange[] = []): void {
    const setHost = this.db.prepare('UPDATE batch_hosts SET status = ?, outcome = ? WHERE batch_id = ? AND target = ?');
    const setRun = this.db.prepare('UPDATE batch_hosts SET run_id = ? WHERE batch_id = ? AND target = ?');
    const setReport = this.db.prepare('UPDATE batch_hosts SET report = ? WHERE batch_id = ? AND target = ?');
    const setRequeued = this.db.prepare('UPDATE batch_hosts SET requeued = ? WHERE batch_id = ? AND target = ?');
    this.db.transaction(() => {
      for (const h of state.hosts) setHost.run(h.status, h.outcome ?? null, id, h.target);
      for (const c of changes) {
        if (c.runId) setRun.run(c.runId, id, c.target);
        if (c.report !== undefined) setReport.run(JSON.stringify(c.report), id, c.target);
        if (c.requeued) setRequeued.run(JSON.stringify(c.requeued), id, c.target);
      }
      this.db.prepare('UPDATE batches SET stopped = ?, updated_at = ? WHERE id = ?').run(state.stopped ?? null, new Date().toISOString(), id);
    })();
  }

  saveSurvey(id: string, survey: StoredSurvey): void {
    this.db.prepare('UPDATE batches SET survey = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(survey), new Date().toISOString(), id);
  }

  finish(id: string, ok: boolean): void {
    const now = new Date().toISOString();
    this.db.prepare('UPDATE batches SET finished_at = ?, updated_at = ?, ok = ? WHERE id = ?').run(now, now, ok ? 1 : 0, id);
  }

  /**
   * The batch changes hands (resume), only if it is still owned by `from` (the dead process seen when it was
   * checked): of two processes resuming it at once, one wins.
   */
  claim(id: string, from: number | undefined): boolean {
    return this.db.prepare('UPDATE batches SET owner_pid = ?, owner_token = ?, updated_at = ? WHERE id = ? AND owner_pid IS ?')
      .run(process.pid, ownerToken(), new Date().toISOString(), id, from ?? null).changes === 1;
  }

  get<R = Record<string, unknown>>(id: string): BatchRecord<R> | undefined {
    if (!this.available()) return undefined;
    const row = this.db.prepare('SELECT * FROM batches WHERE id = ?').get(id) as BatchRow | undefined;
    if (!row) return undefined;
    const hosts = (this.db.prepare('SELECT * FROM batch_hosts WHERE batch_id = ? ORDER BY position').all(id) as HostRow[]).map((h) => ({
      position: h.position, target: h.target, status: h.status as HostStatus,
      ...(h.outcome ? { outcome: h.outcome } : {}),
      ...(h.run_id ? { runId: h.run_id } : {}),
      ...(h.report ? { report: JSON.parse(h.report) as Record<string, unknown> } : {}),
      ...(h.requeued ? { requeued: JSON.parse(h.requeued) as RequeuedAttempt[] } : {}),
    }));
    return {
      id: row.id, kind: row.kind, createdAt: row.created_at, updatedAt: row.updated_at, request: JSON.parse(row.request) as R, hosts,
      ...(row.finished_at ? { finishedAt: row.finished_at } : {}),
      ...(row.owner_pid !== null ? { ownerPid: row.owner_pid } : {}),
      ...(row.owner_token ? { ownerToken: row.owner_token } : {}),
      ...(row.survey ? { survey: JSON.parse(row.survey) as StoredSurvey } : {}),
      ...(row.stopped ? { stopped: row.stopped } : {}),
      ...(row.ok !== null ? { ok: row.ok === 1 } : {}),
    };
  }

  /** Batch ids matching an exact id or a prefix (like git's short ids), at most two. */
  match(idOrPrefix: string): string[] {
    if (!this.available()) return [];
    if (this.db.prepare('SELECT 1 FROM batches WHERE id = ?').get(idOrPrefix)) return [idOrPrefix];
    return (this.db.prepare("SELECT id FROM batches WHERE id LIKE ? ESCAPE '\\' LIMIT 2").all(likePrefix(idOrPrefix)) as Array<{ id: string }>).map((r) => r.id);
  }

  /** Batches, newest first. */
  list(limit = 50): BatchRecord[] {
    if (!this.available()) return [];
    return (this.db.prepare('SELECT id FROM batches ORDER BY created_at DESC, id DESC LIMIT ?').all(limit) as Array<{ id: string }>)
      .map((r) => this.get(r.id)!);
  }

  /** The batch a run was started for, if any. */
  batchOfRun(runId: string): string | undefined {
    if (!this.available()) return undefined;
    return (this.db.prepare('SELECT batch_id FROM batch_hosts WHERE run_id = ?').get(runId) as { batch_id: string } | undefined)?.batch_id;
  }

  /** Unfinished batches, newest first. */
  unfinished(): string[] {
    if (!this.available()) return [];
    return (this.db.prepare('SELECT id FROM batches WHERE finished_at IS NULL ORDER BY created_at DESC, id DESC').all() as Array<{ id: string }>)
      .map((r) => r.id);
  }
}
