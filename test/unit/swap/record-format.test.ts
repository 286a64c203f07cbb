// The transaction record as written since records went line by line (a head line, then a line per
// change with its undo slot), and records written before (one line of JSON with a per-path undo object):
// both load to the same changes, and listing history reads only a record's first line.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../../main/core/domain/manifest.ts';
import type { SwapHost } from '../../../main/adapters/swap/swap-host.ts';
import { listRecords, loadRecord, recordChunks, saveRecord, type SwapRecord } from '../../../main/adapters/swap/swap-record.ts';

const base = mkdtempSync(join(tmpdir(), 'understudy-record-'));
after(() => rmSync(base, { recursive: true, force: true }));

const T = '1700000000000000000';
const file = (path: string, sha: string): Entry => ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs: T, size: 3, sha256: sha.padEnd(64, '0') });

/** A host whose files are a directory here; only what records need. */
function fakeHost(work: string): SwapHost {
  return {
    target: `dir:${work}/root`, work,
    mkdirp: async (d: string) => { mkdirSync(d, { recursive: true }); },
    writeText: async (f: string, text: string | Iterable<string>) => { writeFileSync(f, typeof text === 'string' ? text : [...text].join('')); },
    readText: async (f: string) => { try { return readFileSync(f, 'utf8'); } catch { return null; } },
    agent: async () => ({ code: 0, stdout: '', stderr: '' }),
    list: async () => [],
  } as unknown as SwapHost;
}

const record = (txid: string): SwapRecord => ({
  version: 1, txid, kind: 'swap', target: `dir:${base}/w/root`, createdAt: '2026-12-04T10:00:00.000Z',
  map1: 'a'.repeat(64), map2: 'b'.repeat(64), beforeMap: 'a'.repeat(64), afterMap: 'b'.repeat(64),
  mounts: [''], areas: ['/w/tx/x/a0'], parentTimes: { etc: T },
  changes: [
    { path: 'etc/a', from: file('etc/a', 'a'), to: file('etc/a', 'A') },
    { path: 'etc/new', from: null, to: file('etc/new', 'n') },
    { path: 'etc/gone', from: file('etc/gone', 'g'), to: null },
  ],
});

test('a record goes down a line per change, with its undo slot and without what a change carries besides', () => {
  const r = record('t1');
  (r.changes[0] as unknown as { source: unknown }).source = { kind: 'bytes', data: new Uint8Array([1, 2]) };
  const text = [...recordChunks(r, (p) => (p === 'etc/a' ? { n: 4, area: 0 } : undefined))].join('');
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, 4, 'a head line and one line per change');
  assert.equal(JSON.parse(lines[0]!).changes, undefined, 'the head line holds no changes');
  const first = JSON.parse(lines[1]!);
  assert.deepEqual(first.undo, { n: 4, area: 0 });
  assert.equal(first.source, undefined, "a merge's bytes are not recorded");
  assert.equal(first.from.path, undefined, "an entry's path is the change's, written once");
});

test('saved and loaded back: the same changes, undo slots by path; the history lists its head', async () => {
  const work = join(base, 'w'), store = join(base, 'store');
  const host = fakeHost(work);
  const r = record('20261204T100000Z-swap-aaaaaa');
  await saveRecord(host, store, r, (p) => (p === 'etc/gone' ? { n: 7, area: 0 } : undefined));
  const back = await loadRecord(host, store, r.txid);
  assert.deepEqual(back.changes.map((c) => [c.path, c.from, c.to]), r.changes.map((c) => [c.path, c.from, c.to]));
  assert.deepEqual(back.changes.map((c) => c.undo), [undefined, undefined, { n: 7, area: 0 }]);
  assert.deepEqual(back.parentTimes, { etc: T });
  // the host's copy serves when the store has none
  rmSync(join(store, 'swaps', `${r.txid}.json`));
  assert.deepEqual((await loadRecord(host, store, r.txid)).changes, back.changes);
  // a record without its head (a crash between the two writes) lists by its first line
  rmSync(join(store, 'swaps', `${r.txid}.head.json`));
  writeFileSync(join(store, 'swaps', `${r.txid}.json`), [...recordChunks(r)].join(''));
  const listed = await listRecords(host, store, new Map());
  assert.deepEqual(listed.map((h) => [h.txid, (h as Partial<SwapRecord>).changes]), [[r.txid, undefined]]);
});

test('a record written before (one line of JSON, undo slots in an object by path) still loads', async () => {
  const store = join(base, 'old-store');
  mkdirSync(join(store, 'swaps'), { recursive: true });
  const r = { ...record('20261201T100000Z-swap-bbbbbb'), undo: { 'etc/a': { n: 1, area: 0 } } };
  writeFileSync(join(store, 'swaps', `${r.txid}.json`), JSON.stringify(r) + '\n');
  const back = await loadRecord(fakeHost(join(base, 'w2')), store, r.txid);
  assert.deepEqual(back.changes, r.changes);
  assert.deepEqual(back.undo, { 'etc/a': { n: 1, area: 0 } });
});
