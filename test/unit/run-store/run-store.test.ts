// The run store on a real SQLite file: records, filters, bounded logs, id prefixes, WAL.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_LOG_EVENTS, RunStore } from '../../../main/app/run-store/run-store.ts';
import { MIGRATIONS } from '../../../main/app/run-store/schema.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';

describe('run store', () => {
  let dir: string;
  let store: RunStore;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'understudy-runstore-')); store = new RunStore(dir); });
  after(() => { store.close(); rmSync(dir, { recursive: true, force: true }); });

  it('uses WAL and a versioned schema', () => {
    assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(store.db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  });

  it('records a run, its transitions, timings and final result', () => {
    store.createRun({ id: '20261125-220000-aaaa', verb: 'upgrade', target: 'dir:/srv/web1', input: { a: 1 } });
    store.saveTransition('20261125-220000-aaaa', {
      state: 'capturing', snapshot: { value: 'capturing' },
      timings: { preflight: { startedAt: '2026-11-25T22:00:00.000Z', seconds: 1.5, attempts: 1 }, capturing: { startedAt: '2026-11-25T22:00:01.500Z', attempts: 1 } },
    });
    assert.equal(store.get('20261125-220000-aaaa')?.state, 'capturing');
    assert.deepEqual(store.snapshot('20261125-220000-aaaa'), { value: 'capturing' });
    store.saveTransition('20261125-220000-aaaa', {
      state: 'done', snapshot: { value: 'done' }, outcome: 'upgraded', result: { outcome: 'upgraded' },
      timings: { capturing: { startedAt: '2026-11-25T22:00:01.500Z', seconds: 3, attempts: 1 } },
    });
    const r = store.get('20261125-220000-aaaa')!;
    assert.equal(r.outcome, 'upgraded');
    assert.deepEqual(r.result, { outcome: 'upgraded' });
    assert.deepEqual(r.input, { a: 1 });
    assert.equal(r.ownerPid, process.pid);
    assert.deepEqual(store.timings(r.id).map((t) => [t.stage, t.seconds]), [['preflight', 1.5], ['capturing', 3]]);
  });

  it('keeps every attempt of a stage (a resumed run ran it again)', () => {
    const id = '20261125-220500-cccc';
    store.createRun({ id, verb: 'upgrade', target: 'dir:/srv/web3', input: {} });
    store.saveTransition(id, { state: 'upgrading', snapshot: {}, timings: { upgrading: { startedAt: '2026-11-25T22:05:00.000Z', attempts: 1 } } });
    // the orchestrator died; the resumed run rewound to booting and ran upgrading again
    store.saveTransition(id, { state: 'done', snapshot: {}, outcome: 'upgraded', timings: {
      booting: { startedAt: '2026-11-25T22:06:00.000Z', seconds: 40, attempts: 2 },
      upgrading: { startedAt: '2026-11-25T22:06:40.000Z', seconds: 7, attempts: 2 } } });
    assert.deepEqual(store.timings(id), [
      { stage: 'upgrading', attempt: 1, startedAt: '2026-11-25T22:05:00.000Z' },
      { stage: 'booting', attempt: 2, startedAt: '2026-11-25T22:06:00.000Z', seconds: 40 },
      { stage: 'upgrading', attempt: 2, startedAt: '2026-11-25T22:06:40.000Z', seconds: 7 },
    ]);
    store.db.prepare('DELETE FROM runs WHERE id = ?').run(id);
  });

  it('migrates a v2 store: timings become attempts, runs and batches gain an owner token', () => {
    const old = join(dir, 'v2');
    mkdirSync(old);
    const db = new Database(join(old, 'runs.db'));
    db.exec(MIGRATIONS[0]! + MIGRATIONS[1]!);
    db.pragma('user_version = 2');
    db.prepare(`INSERT INTO runs (id, verb, target, state, created_at, updated_at, owner_pid, input) VALUES ('r1', 'upgrade', 'dir:/x', 'checking', 't', 't', 1, '{}')`).run();
    db.prepare(`INSERT INTO stage_timings VALUES ('r1', 'booting', '2026-11-25T22:00:00.000Z', 40, 1), ('r1', 'checking', '2026-11-25T22:01:00.000Z', NULL, 2)`).run();
    db.close();
    const s = new RunStore(old);
    try {
      assert.equal(s.db.pragma('user_version', { simple: true }), MIGRATIONS.length);
      assert.deepEqual(s.timings('r1'), [
        { stage: 'booting', attempt: 1, startedAt: '2026-11-25T22:00:00.000Z', seconds: 40 },
        { stage: 'checking', attempt: 2, startedAt: '2026-11-25T22:01:00.000Z' },
      ]);
      assert.equal(s.get('r1')?.ownerToken, undefined, 'an old record has no token: its pid alone decides');
      s.createRun({ id: 'r2', verb: 'upgrade', target: 'dir:/x', input: {} });
      assert.match(s.get('r2')?.ownerToken ?? '', /^\S+ [0-9a-f-]{36} \d+$/);
    } finally { s.close(); }
  });

  it('lists newest first, filters by host and outcome', () => {
    store.createRun({ id: '20261125-230000-bbbb', verb: 'rehearse', target: 'ssh://root@web2', input: {} });
    store.saveTransition('20261125-230000-bbbb', { state: 'check-failed', snapshot: {}, timings: {}, outcome: 'check-failed' });
    assert.deepEqual(store.list().map((r) => r.id), ['20261125-230000-bbbb', '20261125-220000-aaaa']);
    assert.deepEqual(store.list({ host: 'web2' }).map((r) => r.id), ['20261125-230000-bbbb']);
    assert.deepEqual(store.list({ outcome: 'upgraded' }).map((r) => r.id), ['20261125-220000-aaaa']);
    assert.deepEqual(store.list({ host: 'web2', outcome: 'upgraded' }), []);
  });

  it('resolves a unique id prefix and refuses unknown or ambiguous ones', () => {
    assert.equal(store.resolveId('20261125-23'), '20261125-230000-bbbb');
    assert.throws(() => store.resolveId('2026'), (e: unknown) => isUnderstudyError(e) && e.code === 'usage' && /more than one/.test(e.message));
    assert.throws(() => store.resolveId('nope'), (e: unknown) => isUnderstudyError(e) && /no run 'nope'/.test(e.message));
    assert.throws(() => store.resolveId('%'), (e: unknown) => isUnderstudyError(e) && /no run/.test(e.message));
  });

  it('keeps stage events, bounds log events per run and truncates long lines', () => {
    const id = '20261125-220000-aaaa';
    const at = new Date().toISOString();
    store.appendEvent(id, { type: 'stage', run: id, stage: 'preflight', state: 'active', at });
    store.appendEvent(id, { type: 'progress', run: id, stage: 'capturing', current: 1 });
    for (let i = 0; i < MAX_LOG_EVENTS + 10; i++) store.appendEvent(id, { type: 'log', run: id, stream: 'stdout', source: 'x', text: `line ${i}`, at });
    store.appendEvent(id, { type: 'log', run: id, stream: 'stdout', source: 'x', text: 'y'.repeat(10_000), at });
    const logs = store.events(id, { type: 'log' });
    assert.equal(logs.length, MAX_LOG_EVENTS);
    assert.equal(store.events(id, { type: 'stage' }).length, 1);
    assert.equal(store.events(id, { type: 'progress' }).length, 0);
    const last = logs[logs.length - 1]!.event;
    assert.ok(last.type === 'log' && last.text.endsWith('[truncated]') && last.text.length < 5000);
    assert.ok(logs[0]!.event.type === 'log' && logs[0]!.event.text === 'line 11');
  });

  it('a second connection (another process) sees committed transitions', () => {
    const other = new RunStore(dir);
    try { assert.equal(other.get('20261125-220000-aaaa')?.state, 'done'); } finally { other.close(); }
  });

  it('opening a store in an unwritable place is a clear io error', () => {
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, '');
    assert.throws(() => new RunStore(join(file, 'store')), (e: unknown) => isUnderstudyError(e) && e.code === 'io' && /cannot open the run store/.test(e.message));
  });
});
