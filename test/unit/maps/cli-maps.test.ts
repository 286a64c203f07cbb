// The maps verbs through the real CLI: JSON result lines, exit codes, corruption naming paths,
// incremental re-capture, and bad input that leaves the store untouched.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let work: string, src: string, store: string;

function cli(...args: string[]): { status: number | null; lines: any[]; result: any; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/understudy.mjs', ...args, '--store', store, '--json'], { encoding: 'utf8', cwd: join(import.meta.dirname, '../../..') });
  const lines = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return { status: r.status, lines, result: lines[lines.length - 1], stderr: r.stderr };
}

/** Every file under the store with its size and mtime: "untouched" means this does not change. */
function storeListing(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const st = statSync(p);
      if (st.isDirectory()) walk(p); else out.push(`${p} ${st.size} ${st.mtimeMs}`);
    }
  };
  walk(store);
  return out;
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'understudy-cli-maps-'));
  src = join(work, 'src');
  store = join(work, 'store');
  mkdirSync(join(src, 'etc'), { recursive: true });
  mkdirSync(join(src, 'usr/bin'), { recursive: true });
  writeFileSync(join(src, 'etc/hostname'), 'web1\n');
  writeFileSync(join(src, 'etc/copy-of-hostname'), 'web1\n');
  writeFileSync(join(src, 'usr/bin/tool'), Buffer.alloc(3 << 20, 7));
  writeFileSync(join(src, 'usr/bin/other'), 'other\n');
});
after(() => rmSync(work, { recursive: true, force: true }));

let first: any;

test('capture prints a result line with map, files, bytes, bytesRead, seconds', () => {
  const r = cli('capture', `dir:${src}`);
  assert.equal(r.status, 0, r.stderr);
  first = r.result;
  assert.equal(first.type, 'result');
  assert.equal(first.ok, true);
  assert.match(first.map, /^[0-9a-f]{64}$/);
  assert.equal(first.files, 4);
  assert.equal(first.bytes, (3 << 20) + 5 + 5 + 6);
  assert.equal(first.bytesRead, first.bytes);
  assert.equal(typeof first.seconds, 'number');
  // the map file's name is the sha256 of its bytes
  const text = readFileSync(join(store, 'maps', `${first.map}.json`));
  assert.equal(require_sha256(text), first.map);
});

function require_sha256(b: Buffer): string {
  return spawnSync('openssl', ['dgst', '-sha256', '-r'], { input: b }).stdout.toString().split(' ')[0]!;
}

test('an unchanged re-capture reads no content; a changed file is the only one read', () => {
  const again = cli('capture', `dir:${src}`).result;
  assert.equal(again.bytesRead, 0);
  assert.equal(again.files, 4);
  appendFileSync(join(src, 'usr/bin/other'), 'changed\n');
  const third = cli('capture', `dir:${src}`).result;
  assert.equal(third.bytesRead, 14);
  const d = cli('diff', first.map, third.map);
  assert.equal(d.status, 0);
  assert.deepEqual(d.result.changed, ['usr/bin/other']);
  assert.deepEqual([d.result.added, d.result.removed], [[], []]);
});

test('maps lists host, time, file count and size', () => {
  const r = cli('maps');
  assert.equal(r.status, 0);
  assert.equal(r.result.maps.length, 3);
  assert.ok(r.result.maps.every((m: any) => m.host === src && m.files === 4 && m.capturedAt && m.bytes > 3 << 20));
});

test('verify passes, then names every path using a flipped object (exit 3)', () => {
  assert.equal(cli('verify').status, 0);
  const sha = spawnSync('sha256sum', [join(src, 'etc/hostname')]).stdout.toString().split(' ')[0]!;
  const obj = join(store, 'objects', sha.slice(0, 2), sha.slice(2));
  const bytes = readFileSync(obj);
  bytes[0] = bytes[0]! ^ 0x01;
  writeFileSync(obj, bytes);
  const r = cli('verify', first.map.slice(0, 10));
  assert.equal(r.status, 3);
  assert.equal(r.result.ok, false);
  assert.equal(r.result.error.code, 'store-corrupt');
  assert.deepEqual(r.result.corrupt, [{ object: sha, reason: 'mismatch', paths: ['/etc/copy-of-hostname', '/etc/hostname'] }]);
  rmSync(obj);
  const all = cli('verify');
  assert.equal(all.status, 3);
  assert.equal(all.result.corrupt[0].reason, 'missing');
  assert.equal(all.result.corrupt[0].paths.length, 6, 'both paths in each of the three maps');
});

test('bad input fails clearly and leaves the store untouched', () => {
  const before = storeListing();
  const unknown = cli('restore', 'abcdef0123', join(work, 'out'));
  assert.equal(unknown.status, 1);
  assert.equal(unknown.result.error.code, 'map-not-found');
  const busy = join(work, 'busy');
  mkdirSync(busy);
  writeFileSync(join(busy, 'keep'), 'x');
  const nonEmpty = cli('restore', first.map, busy);
  assert.equal(nonEmpty.status, 2);
  assert.match(nonEmpty.result.error.message, /not empty/);
  assert.deepEqual(readdirSync(busy), ['keep']);
  const badTarget = cli('capture', 'ftp://host');
  assert.equal(badTarget.status, 1);
  assert.equal(badTarget.result.error.code, 'bad-target');
  const missingDir = cli('capture', `dir:${join(work, 'no-such-dir')}`);
  assert.equal(missingDir.result.error.code, 'bad-target');
  assert.equal(cli("diff", first.map, "zz").result?.error.code, "map-not-found");
  assert.deepEqual(storeListing(), before);
});
