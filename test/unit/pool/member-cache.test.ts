// The member image cache's bound: least recently used images go first, images in use never.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planEviction } from '../../../main/adapters/pool/member-images.ts';

const img = (key: string, lastUsed: number, bytes: number) => ({ key, lastUsed, bytes });

describe('member image cache eviction', () => {
  it('keeps everything while the new image fits', () => {
    assert.deepEqual(planEviction([img('a', 1, 10), img('b', 2, 10)], new Set(), 10, 30), []);
  });
  it('evicts the least recently used first, only as many as needed', () => {
    assert.deepEqual(planEviction([img('new', 9, 10), img('old', 1, 10), img('mid', 5, 10)], new Set(), 10, 30), ['old']);
    assert.deepEqual(planEviction([img('new', 9, 10), img('old', 1, 10), img('mid', 5, 10)], new Set(), 25, 30), ['old', 'mid', 'new']);
  });
  it('never evicts an image a sandbox uses, even when the bound is then exceeded', () => {
    assert.deepEqual(planEviction([img('old', 1, 10), img('mid', 5, 10)], new Set(['old']), 15, 20), ['mid']);
    assert.deepEqual(planEviction([img('old', 1, 10)], new Set(['old']), 50, 20), []);
  });
});
