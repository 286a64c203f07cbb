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

export function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === 0) {
    db.exec('BEGIN');
    db.exec(V1);
    db.pragma('user_version = 1');
    db.exec('COMMIT');
  }
}
