// The run store's SQLite schema, versioned with PRAGMA user_version so later versions can migrate.
import type Database from 'better-sqlite3';

const V1 = `
CREATE TABLE runs (
  id          TEXT PRIMARY KEY,
  verb        TEXT NOT NULL,
  target      TEXT NOT NULL,
  state       TEXT NOT NULL,
  outcome     TEXT,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  owner_pid   INTEGER,
  input       TEXT NOT NULL,
  result      TEXT,
  snapshot    TEXT
);
CREATE INDEX runs_target ON runs(target);
CREATE INDEX runs_created ON runs(created_at);
CREATE TABLE stage_timings (
  run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  stage       TEXT NOT NULL,
  started_at  TEXT NOT NULL,
  seconds     REAL,
  attempts    INTEGER NOT NULL,
  PRIMARY KEY (run_id, stage)
);
CREATE TABLE events (
  run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  seq         INTEGER NOT NULL,
  type        TEXT NOT NULL,
  body        TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
);
`;

// V2: fleet batches, so a batch whose orchestrator died can be resumed as one. `request` holds what the
// batch was started with (hosts, options, kind); batch_hosts the scheduler's state per host, the run it
// started (id chosen before the run exists) and the host's final report.
const V2 = `
CREATE TABLE batches (
  id          TEXT PRIMARY KEY,
  kind        TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  finished_at TEXT,
  owner_pid   INTEGER,
  request     TEXT NOT NULL,
  stopped     TEXT,
  ok          INTEGER
);
CREATE INDEX batches_created ON batches(created_at);
CREATE TABLE batch_hosts (
  batch_id    TEXT NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
  position    INTEGER NOT NULL,
  target      TEXT NOT NULL,
  status      TEXT NOT NULL,
  outcome     TEXT,
  run_id      TEXT,
  report      TEXT,
  PRIMARY KEY (batch_id, position),
  UNIQUE (batch_id, target)
);
`;

// V3: every attempt of a stage keeps its times (a resumed run ran some stages twice: the killed attempt
// and the one that finished); and the owner's identity beyond its pid (host, boot id, start time: see
// adapters/local/process-owner.ts), so a pid reused after a crash or a restart is not taken for the owner.
const V3 = `
CREATE TABLE stage_attempts (
  run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  stage       TEXT NOT NULL,
  attempt     INTEGER NOT NULL,
  started_at  TEXT NOT NULL,
  seconds     REAL,
  PRIMARY KEY (run_id, stage, attempt)
);
INSERT INTO stage_attempts (run_id, stage, attempt, started_at, seconds)
  SELECT run_id, stage, attempts, started_at, seconds FROM stage_timings;
DROP TABLE stage_timings;
ALTER TABLE runs ADD COLUMN owner_token TEXT;
ALTER TABLE batches ADD COLUMN owner_token TEXT;
`;

// V4: a batch's survey (every host's map1 and content id, and the groups that share a rehearsal), saved
// before anything boots so the UI and `runs --batches` show the groups, and a resumed batch keeps them.
const V4 = `
ALTER TABLE batches ADD COLUMN survey TEXT;
`;

// V5: a batch host's earlier attempts that went back in the queue (their pool member was lost): a JSON
// array of { run, member, error }. A resumed batch counts them against the one retry and keeps away from
// those members, as the process that started the batch would have.
const V5 = `
ALTER TABLE batch_hosts ADD COLUMN requeued TEXT;
`;

/** Each version's DDL, in order (exported for the migration tests, which build old stores with it). */
export const MIGRATIONS = [V1, V2, V3, V4, V5];

/** Brings the schema to the newest version, one transaction per step (a v1 store gains the batch tables, ...). */
export function migrate(db: Database.Database): void {
  // the version is read inside the write lock: two processes opening an old store migrate it once
  const step = db.transaction(() => {
    const v = db.pragma('user_version', { simple: true }) as number;
    if (v >= MIGRATIONS.length) return false;
    db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${v + 1}`);
    return true;
  });
  while (step.immediate()) { /* next version */ }
}
