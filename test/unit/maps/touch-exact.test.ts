// Restore's exact nanosecond times (Node's utimes rounds them): many distinct times, a time shared by
// several entries, times before 1970, odd names and a symlink (its own time, never its target's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../../main/core/domain/manifest.ts';
import { touchExact } from '../../../main/adapters/restore/restore-tools.ts';

const file = (path: string, mtimeNs: string): Entry => ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs, size: 0 });

test('every entry gets its exact ns mtime, shared or not, and a symlink its own', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-touch-exact-'));
  try {
    const entries: Entry[] = [];
    for (let i = 0; i < 200; i++) entries.push(file(`f${i}`, `${1_700_000_000 + i}${String(123_456_789 + i).padStart(9, '0')}`));
    for (const name of ['same a', 'same\nb', '-same-c']) entries.push(file(name, '1600000000000000007'));
    entries.push(file('before-1970', '-86399999999999'));
    writeFileSync(join(dir, 'target'), '');
    const targetBefore = lstatSync(join(dir, 'target'), { bigint: true }).mtimeNs;
    symlinkSync('target', join(dir, 'link'));
    entries.push({ path: 'link', type: 'symlink', target: 'target', mode: 0o777, uid: 0, gid: 0, mtimeNs: '1500000000000000001', size: 0 });
    for (const e of entries) if (e.type === 'file') writeFileSync(join(dir, e.path), '');
    await touchExact(dir, entries);
    for (const e of entries) assert.equal(lstatSync(join(dir, e.path), { bigint: true }).mtimeNs, BigInt(e.mtimeNs), JSON.stringify(e.path));
    assert.equal(lstatSync(join(dir, 'target'), { bigint: true }).mtimeNs, targetBefore, 'the link target is untouched');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
