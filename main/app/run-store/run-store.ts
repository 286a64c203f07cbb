// SQLite run store at STORE/runs.db (WAL): runs (with their owning process), every stage attempt's
// times, stage/log events (bounded per run) and the machine's persisted snapshot, written after every
// transition so `resume` can continue.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { RunEvent } from '../../core/domain/events.ts';
import type { StageTiming } from '../../core/workflow/run-types.ts';
import { migrate } from './schema.ts';
import { ownerToken } from '../../adapters/local/process-owner.ts';

export interface RunRecord {
  id: string;
  verb: string;
  target: string;
  state: string;
  outcome?: string;
  createdAt: string;
  updatedAt: string;
  ownerPid?: number;
  /** The owner beyond its pid (see process-owner.ts); absent in records older than schema v3. */
  ownerToken?: string;
  input: Record<string, unknown>;
  result?: Record<string, unknown>;
}

export interface StoredEvent { seq: number; event: RunEvent }
export interface RunFilter { host?: string; outcome?: string; limit?: number }

/** A LIKE pattern (ESCAPE '\\') for ids starting with `prefix`. */
export const likePrefix = (prefix: string) => prefix.replace(/[\\%_]/g, (c) => '\\' + c) + '%';

/** Per-run cap on stored log events; stage events are always kept. */
export const MAX_LOG_EVENTS = 5000;
const MAX_LOG_TEXT = 4096;

interface RunRow {
  id: string; verb: string; target: string; state: string; outcome: string | null; created_at: string;
  updated_at: string; owner_pid: number | null; owner_token: string | null; input: string; result: string | null;
}

/** One attempt of a stage, as `show` and the UI list them. */
export interface StageAttempt { stage: string; attempt: number; startedAt: string; seconds?: number }


const toRecord = (r: RunRow): RunRecord => ({
  id: r.id, verb: r.verb, target: r.target, state: r.state, createdAt: r.created_at, updatedAt: r.updated_at,
  input: JSON.parse(r.input) as Record<string, unknown>,
  ...(r.outcome ? { outcome: r.outcome } : {}),
  ...(r.owner_pid !== null ? { ownerPid: r.owner_pid } : {}),
  ...(r.owner_token ? { ownerToken: r.owner_token } : {}),
  ...(r.result ? { result: JSON.parse(r.result) as Record<string, unknown> } : {}),
});

export class RunStore {
  readonly db: Database.Database;
  private seq = new Map<string, number>();
  private logCount = new Map<string, number>();

  constructor(storeDir: string, opts: { readonly?: boolean } = {}) {
    try {
      if (!opts.readonly) mkdirSync(storeDir, { recursive: true });
      this.db = new Database(join(storeDir, 'runs.db'), { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
    } catch (err) {
      throw new UnderstudyError('io', `cannot open the run store in ${storeDir}: ${(err as Error).message}`);
    }
    this.db.pragma('busy_timeout = 5000'); // before migrating: another process may hold the write lock
    if (!opts.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      migrate(this.db);
    }
    this.db.pragma('foreign_keys = ON');
  }

  createRun(r: { id: string; verb: string; target: string; input: unknown; state?: string }): RunRecord {
    const now = new Date().toISOString();
    try {
      this.db.prepare(`INSERT INTO runs (id, verb, target, state, created_at, updated_at, owner_pid, owner_token, input)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(r.id, r.verb, r.target, r.state ?? 'created', now, now, process.pid, ownerToken(), JSON.stringify(r.input));
    } catch (err) {
      throw new UnderstudyError('io', `cannot record run ${r.id}: ${(err as Error).message}`);
    }
    return this.get(r.id)!;
  }

  /** One transaction per machine transition: state, snapshot, timings (and outcome/result when final). */
  saveTransition(id: string, t: {
    state: string; snapshot: unknown; timings: Record<string, StageTiming>; outcome?: string; result?: unknown;
  }): void {
    const now = new Date().toISOString();
    // the context holds each stage's latest attempt; earlier attempts' rows stay as they were
    const upsertTiming = this.db.prepare(`INSERT INTO stage_attempts (run_id, stage, attempt, started_at, seconds)
      VALUES (?, ?, ?, ?, ?) ON CONFLICT(run_id, stage, attempt) DO UPDATE SET started_at = excluded.started_at,
      seconds = excluded.seconds`);
    this.db.transaction(() => {
      this.db.prepare(`UPDATE runs SET state = ?, snapshot = ?, updated_at = ?, outcome = coalesce(?, outcome),
        result = coalesce(?, result) WHERE id = ?`).run(t.state, JSON.stringify(t.snapshot), now, t.outcome ?? null,
        t.result === undefined ? null : JSON.stringify(t.result), id);
      for (const [stage, v] of Object.entries(t.timings)) upsertTiming.run(id, stage, v.attempts, v.startedAt, v.seconds ?? null);
    })();
  }

  /** Marks the run as owned by this process (a resumed run changes hands). */
  claim(id: string): void {
    this.db.prepare('UPDATE runs SET owner_pid = ?, owner_token = ?, updated_at = ? WHERE id = ?').run(process.pid, ownerToken(), new Date().toISOString(), id);
  }

  appendEvent(id: string, e: RunEvent): void {
    if (e.type === 'progress') return; // progress is live-only; the stage timings keep the history
    let event = e;
    if (e.type === 'log') {
      const n = this.logCount.get(id) ?? this.countLogs(id);
      if (n >= MAX_LOG_EVENTS) this.db.prepare(`DELETE FROM events WHERE run_id = ? AND seq = (SELECT min(seq) FROM events
        WHERE run_id = ? AND type = 'log')`).run(id, id);
      else this.logCount.set(id, n + 1);
      if (e.text.length > MAX_LOG_TEXT) event = { ...e, text: e.text.slice(0, MAX_LOG_TEXT) + ' [truncated]' };
    }
    const seq = (this.seq.get(id) ?? this.maxSeq(id)) + 1;
    this.seq.set(id, seq);
    this.db.prepare('INSERT INTO events (run_id, seq, type, body) VALUES (?, ?, ?, ?)').run(id, seq, event.type, JSON.stringify(event));
  }

  get(id: string): RunRecord | undefined {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    return row && toRecord(row);
  }

  /** Exact id, or a unique prefix of one (like git's short ids). */
  resolveId(idOrPrefix: string): string {
    const ids = this.matchIds(idOrPrefix);
    if (ids.length === 1) return ids[0]!;
    throw new UnderstudyError('usage', ids.length === 0 ? `no run '${idOrPrefix}' in the run store`
      : `'${idOrPrefix}' matches more than one run; give more of the id`);
  }

  /** Run ids matching an exact id, else a prefix; at most two (enough to tell unique from ambiguous). */
  matchIds(idOrPrefix: string): string[] {
    if (this.get(idOrPrefix)) return [idOrPrefix];
    return (this.db.prepare("SELECT id FROM runs WHERE id LIKE ? ESCAPE '\\' LIMIT 2").all(likePrefix(idOrPrefix)) as Array<{ id: string }>).map((r) => r.id);
  }

  snapshot(id: string): unknown {
    const row = this.db.prepare('SELECT snapshot FROM runs WHERE id = ?').get(id) as { snapshot: string | null } | undefined;
    return row?.snapshot ? JSON.parse(row.snapshot) : undefined;
  }

  list(f: RunFilter = {}): RunRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.host) { where.push('(target = ? OR target LIKE ?)'); args.push(f.host, `%${f.host}%`); }
    if (f.outcome) { where.push('outcome = ?'); args.push(f.outcome); }
    const sql = `SELECT * FROM runs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at DESC, id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, f.limit ?? 1000) as RunRow[]).map(toRecord);
  }

  /** Every attempt of every stage, in the order they started. */
  timings(id: string): StageAttempt[] {
    const rows = this.db.prepare('SELECT stage, attempt, started_at, seconds FROM stage_attempts WHERE run_id = ? ORDER BY started_at, stage, attempt')
      .all(id) as Array<{ stage: string; attempt: number; started_at: string; seconds: number | null }>;
    return rows.map((r) => ({ stage: r.stage, attempt: r.attempt, startedAt: r.started_at, ...(r.seconds !== null ? { seconds: r.seconds } : {}) }));
  }

  events(id: string, opts: { afterSeq?: number; limit?: number; type?: RunEvent['type'] } = {}): StoredEvent[] {
    const rows = this.db.prepare(`SELECT seq, body FROM events WHERE run_id = ? AND seq > ? ${opts.type ? 'AND type = ?' : ''}
      ORDER BY seq LIMIT ?`).all(...[id, opts.afterSeq ?? 0, ...(opts.type ? [opts.type] : []), opts.limit ?? 10_000]) as Array<{ seq: number; body: string }>;
    return rows.map((r) => ({ seq: r.seq, event: JSON.parse(r.body) as RunEvent }));
  }

  close(): void { this.db.close(); }

  private maxSeq(id: string): number {
    return (this.db.prepare('SELECT coalesce(max(seq), 0) AS m FROM events WHERE run_id = ?').get(id) as { m: number }).m;
  }

  private countLogs(id: string): number {
    return (this.db.prepare("SELECT count(*) AS n FROM events WHERE run_id = ? AND type = 'log'").get(id) as { n: number }).n;
  }
}
