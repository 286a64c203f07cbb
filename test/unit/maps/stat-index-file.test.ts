// The stat index file: records found by path key whatever the name holds, nothing found that was not
// written, and a store of an older version (JSON index) still gives its index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StatIndexFile } from '../../../main/adapters/store/stat-index-file.ts';
import { loadStatIndex, saveStatIndex } from '../../../main/adapters/store/map-store.ts';
import { ensureStore, legacyStatIndexPath, statIndexPath } from '../../../main/adapters/store/store-paths.ts';
import { keyFromBytes } from '../../../main/core/domain/path-key.ts';

const hostileKeys = ['', 'a', 'dir/with space', 'new\nline', '-leading', 'ünïcode/名前', keyFromBytes(Buffer.from([0x66, 0xff, 0xfe])), 'x'.repeat(3000)];

test('every record is found by its key (ASCII or not), in file order, and absent keys are not', () => {
  const pairs = hostileKeys.map((k, i) => [k, `${i}:1:2:3\t${'ab'.repeat(32)}\t{"user.x":"eQ=="}`] as [string, string]);
  const idx = StatIndexFile.fromPairs(pairs);
  assert.equal(idx.size, pairs.length);
  for (const [k, v] of pairs) {
    assert.equal(idx.get(k), v);
  }
  assert.deepEqual([...idx.pairs()], pairs);
  for (const k of ['b', 'dir', 'dir/with', 'new', 'x'.repeat(2999), 'a/']) assert.equal(idx.get(k), undefined, k);
  assert.equal(StatIndexFile.EMPTY.get(''), undefined);
});

test('many keys (open addressing under collisions) and a truncated last record', () => {
  const pairs = Array.from({ length: 5000 }, (_, i) => [`d${i % 97}/f${i}`, `${i}:0:0:${i}\t`] as [string, string]);
  const bytes = Buffer.from([...StatIndexFile.encode(pairs, 100)].join(''), 'utf8');
  const idx = StatIndexFile.parse(bytes);
  for (const [k, v] of pairs) assert.equal(idx.get(k), v);
  const cut = StatIndexFile.parse(bytes.subarray(0, bytes.length - 3));
  assert.equal(cut.size, pairs.length - 1);
  assert.equal(cut.get(pairs.at(-1)![0]), undefined);
  assert.equal(cut.get(pairs[0]![0]), pairs[0]![1]);
});

test('a record holding a NUL is refused, not written ambiguous', () => {
  assert.throws(() => [...StatIndexFile.encode([['a\0b', 'v']])], /NUL/);
});

test('saved and loaded through the store; an older store\'s JSON index still loads', async () => {
  const store = mkdtempSync(join(tmpdir(), 'understudy-statindex-'));
  try {
    await ensureStore(store);
    const pairs: Array<[string, string]> = [['', '4096:1:1:2\t'], ['etc/passwd', `10:5:5:9\t${'c'.repeat(64)}`]];
    await saveStatIndex(store, 'a'.repeat(64), 'dir:/x', pairs);
    assert.equal(readFileSync(statIndexPath(store, 'a'.repeat(64)), 'utf8'), '\0' + '4096:1:1:2\t\0etc/passwd\0' + `10:5:5:9\t${'c'.repeat(64)}\0`);
    assert.deepEqual([...(await loadStatIndex(store, 'a'.repeat(64)))!.pairs()], pairs);
    writeFileSync(legacyStatIndexPath(store, 'b'.repeat(64)), JSON.stringify(Object.fromEntries(pairs)));
    assert.equal((await loadStatIndex(store, 'b'.repeat(64)))!.get('etc/passwd'), pairs[1]![1]);
    assert.equal(await loadStatIndex(store, 'c'.repeat(64)), undefined);
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
});
