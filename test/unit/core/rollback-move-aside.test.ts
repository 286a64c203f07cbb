// The rollback's rules for what the host wrote since in directories a swap made (pure parts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirsToEmpty, namesWrittenSince, stayingWithRuntimeState, topmost } from '../../../main/core/domain/rollback-move-aside.ts';
import type { HostEntry } from '../../../main/core/domain/swap-drift.ts';

const dir = (path: string, children?: string[]): HostEntry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtimeNs: '0', size: 0, ...(children ? { children } : {}) });
const file = (path: string): HostEntry => ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs: '0', size: 1, sha256: 'x' });

test('only real directories, not runtime state, with nothing above them replaced, are emptied', () => {
  const now = new Map<string, HostEntry | null>([['a', dir('a')], ['b', file('b')], ['c', null], ['var/log/x', dir('var/log/x')], ['d/e', dir('d/e')]]);
  const got = dirsToEmpty(new Set(['a', 'b', 'c', 'var/log/x', 'd/e']), now, (p) => p.startsWith('var/log/'), (p) => p === 'd/e');
  assert.deepEqual(got, ['a']);
});

test('names the transaction did not write are the host\'s', () => {
  const now = new Map<string, HostEntry | null>([['a', dir('a', ['a/swap', 'a/host', 'a/sub'])], ['a/sub', dir('a/sub', ['a/sub/h2'])]]);
  assert.deepEqual(namesWrittenSince(['a', 'a/sub'], new Set(['a', 'a/swap', 'a/sub']), now), ['a/host', 'a/sub/h2']);
});

test('runtime state stays, and every host-written directory above it', () => {
  const found = new Map<string, HostEntry>([['a/h', dir('a/h')], ['a/h/log', dir('a/h/log')], ['a/h/log/x', file('a/h/log/x')], ['a/h/y', file('a/h/y')], ['a/z', file('a/z')]]);
  assert.deepEqual([...stayingWithRuntimeState(found, (p) => p.startsWith('a/h/log/'))].sort(), ['a/h', 'a/h/log', 'a/h/log/x']);
});

test('topmost names each subtree once, whatever sorts between a directory and its children', () => {
  assert.deepEqual(topmost(['a/c', 'a', 'a-b', 'a-b/x', 'b/y/z', 'b/y']), ['a', 'a-b', 'b/y']);
});
