// A map's content id is the hash of its entries alone: real dir: captures of identical trees (a copy
// elsewhere, the same tree again later) share it while their map ids differ; any change to a file's
// content or metadata changes it. `capture` and `maps` show it; it hashes the same bytes as the map
// file's "entries" value.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capture } from '../../../main/adapters/capture/capture.ts';
import { contentIdOf, loadMap } from '../../../main/adapters/store/map-store.ts';
import { mapPath } from '../../../main/adapters/store/store-paths.ts';

let work = '', store = '', a = '', b = '';
const cap = (dir: string) => capture({ store, target: `dir:${dir}` });

before(() => {
  work = mkdtempSync(join(tmpdir(), 'understudy-content-id-'));
  store = join(work, 'store');
  a = join(work, 'a');
  b = join(work, 'b');
  mkdirSync(join(a, 'etc'), { recursive: true });
  mkdirSync(join(a, 'usr/bin'), { recursive: true });
  writeFileSync(join(a, 'etc/os-release'), 'ID=debian\nVERSION_ID="12"\n');
  writeFileSync(join(a, 'usr/bin/tool'), Buffer.alloc(70_000, 3));
  // a copy that keeps every time, mode and owner: the same tree at another path
  assert.equal(spawnSync('cp', ['-a', a, b]).status, 0);
});
after(() => rmSync(work, { recursive: true, force: true }));

test('identical trees have one content id, different map ids; the result and the map agree', async () => {
  const ra = await cap(a), rb = await cap(b);
  assert.notEqual(ra.map, rb.map, 'the map id covers the target and the capture time');
  assert.match(ra.content, /^[0-9a-f]{64}$/);
  assert.equal(ra.content, rb.content);
  assert.equal(contentIdOf((await loadMap(store, ra.map)).manifest), ra.content);
  // the same tree captured again (incremental) keeps its content id
  const again = await cap(a);
  assert.notEqual(again.map, ra.map);
  assert.equal(again.content, ra.content);
  // it is the hash of the map file's own "entries" bytes
  const text = readFileSync(mapPath(store, ra.map), 'utf8');
  const start = text.indexOf('"entries":') + '"entries":'.length, end = text.indexOf(',"excluded":');
  assert.equal(createHash('sha256').update(text.slice(start, end)).digest('hex'), ra.content);
});

test('a change of content or of a mode alone changes the content id', async () => {
  const base = (await cap(b)).content;
  chmodSync(join(b, 'usr/bin/tool'), 0o700);
  const moded = (await cap(b)).content;
  assert.notEqual(moded, base);
  writeFileSync(join(b, 'etc/os-release'), 'ID=debian\nVERSION_ID="13"\n');
  const edited = (await cap(b)).content;
  assert.notEqual(edited, moded);
  assert.notEqual(edited, base);
});

test('maps lists each map with its content id', async () => {
  const r = spawnSync(process.execPath, ['bin/understudy.mjs', 'maps', '--store', store, '--json'], { encoding: 'utf8', cwd: join(import.meta.dirname, '../../..') });
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
  for (const m of result.maps) assert.equal(m.content, contentIdOf((await loadMap(store, m.id)).manifest));
  const byTarget = (t: string) => new Set(result.maps.filter((m: any) => m.target === `dir:${t}`).map((m: any) => m.content));
  assert.ok([...byTarget(a)].every((c) => byTarget(b).has(c)), 'a and its copy share their content id');
  const human = spawnSync(process.execPath, ['bin/understudy.mjs', 'maps', '--store', store], { encoding: 'utf8', cwd: join(import.meta.dirname, '../../..') });
  assert.match(human.stdout, /^MAP +CONTENT +CAPTURED/m);
  assert.ok(human.stdout.includes(result.maps[0].content.slice(0, 12)));
});
