// The run store on a real SQLite file: records, filters, bounded logs, id prefixes, WAL.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_LOG_EVENTS, RunStore } from '../../../main/app/run-store/run-store.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';

describe('run store', () => {
  let dir: string;
  let store: RunStore;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'understudy-runstore-')); store = new RunStore(dir); });
  after(() => { store.close(); rmSync(dir, { recursive: true, force: true }); });

  it('uses WAL and a versioned schema', () => {
    assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(store.db.pragma('user_version', { simple: true }), 2);
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
