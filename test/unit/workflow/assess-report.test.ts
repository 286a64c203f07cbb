// The protection report: a verdict per item from facts, unknown when a fact is missing, worst overall.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assessReport, worst, type AssessFacts } from '../../../main/core/workflow/assess-report.ts';

const now = new Date('2026-11-25T12:00:00Z');
const good: AssessFacts = {
  target: 'dir:/srv/web1', now,
  lastMap: { value: { id: 'a'.repeat(64), capturedAt: '2026-11-25T06:00:00Z' } },
  storeIntact: { value: { ok: true, corrupt: 0, maps: 2 } },
  rollbackPoint: { value: { map: 'a'.repeat(64), run: '20261125-060000-abcd' } },
  journalClean: { value: { clean: true } },
  freeSpace: { value: { freeBytes: 10e9, neededBytes: 1e9 } },
};

describe('assess report', () => {
  it('all good: ok with a detail per item', () => {
    const a = assessReport(good);
    assert.equal(a.verdict, 'ok');
    assert.deepEqual(a.items.map((i) => [i.name, i.verdict]), [
      ['last verified map', 'ok'], ['store intact', 'ok'], ['rollback point', 'ok'], ['host journal clean', 'ok'], ['free space for a swap', 'ok']]);
    assert.equal(a.items[0]!.detail, 'aaaaaaaaaaaa captured 6 h ago');
    assert.equal(a.items[4]!.detail, '10.0 GB free, a swap needs 1.0 GB');
    assert.equal(a.items[1]!.detail, 'every object of 2 maps matches its hash');
    assert.equal(assessReport({ ...good, storeIntact: { value: { ok: true, corrupt: 0, maps: 0 } } }).items[1]!.verdict, 'unknown');
  });

  it('map age: warn after 7 days, fail after 30, fail when there is none', () => {
    const at = (capturedAt: string) => assessReport({ ...good, lastMap: { value: { id: 'b'.repeat(64), capturedAt } } }).items[0]!;
    assert.equal(at('2026-11-10T12:00:00Z').verdict, 'warn');
    assert.equal(at('2026-10-01T12:00:00Z').verdict, 'fail');
    assert.equal(at('2026-10-01T12:00:00Z').detail, 'bbbbbbbbbbbb captured 55 days ago');
    const none = assessReport({ ...good, lastMap: { value: undefined } });
    assert.deepEqual([none.items[0]!.verdict, none.verdict], ['fail', 'fail']);
  });

  it('corrupt store, dirty journal, tight or missing space', () => {
    assert.match(assessReport({ ...good, storeIntact: { value: { ok: false, corrupt: 3, maps: 2 } } }).items[1]!.detail, /3 corrupt/);
    assert.equal(assessReport({ ...good, journalClean: { value: { clean: false } } }).items[3]!.verdict, 'fail');
    assert.equal(assessReport({ ...good, freeSpace: { value: { freeBytes: 1.1e9, neededBytes: 1e9 } } }).items[4]!.verdict, 'warn');
    assert.equal(assessReport({ ...good, freeSpace: { value: { freeBytes: 0.5e9, neededBytes: 1e9 } } }).items[4]!.verdict, 'fail');
    assert.equal(assessReport({ ...good, rollbackPoint: { value: undefined } }).verdict, 'warn');
  });

  it('a fact that could not be gathered is unknown with the reason, never ok', () => {
    const a = assessReport({ ...good, journalClean: { unknown: 'ssh: connection refused' } });
    assert.deepEqual(a.items[3], { name: 'host journal clean', verdict: 'unknown', detail: 'ssh: connection refused' });
    assert.equal(a.verdict, 'unknown');
    assert.equal(worst(['ok', 'unknown', 'warn']), 'warn');
    assert.equal(worst(['fail', 'warn']), 'fail');
    assert.equal(worst([]), 'ok');
  });
});
