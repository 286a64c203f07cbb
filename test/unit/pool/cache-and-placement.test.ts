// The member image cache's bound (least recently used images go first, images in use never) and where a
// sandbox is placed (pure parts of adapters/pool).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planEviction } from '../../../main/adapters/pool/member-images.ts';
import { defaultCapacity, pickMember, type Candidate } from '../../../main/adapters/pool/sandbox-pool.ts';

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

describe('pool placement', () => {
  const m = (o: Partial<Candidate> = {}): Candidate => ({ usable: true, busy: 0, capacity: 1, holds: false, ...o });
  it('prefers a member that holds the image, then the most free slots, then the entry order', () => {
    assert.equal(pickMember([m(), m({ holds: true })]), 1);
    assert.equal(pickMember([m({ capacity: 2 }), m({ capacity: 4, busy: 1 })]), 1);
    assert.equal(pickMember([m({ capacity: 2 }), m({ capacity: 2 })]), 0);
    assert.equal(pickMember([m({ holds: true, capacity: 2, busy: 1 }), m({ capacity: 8 })]), 0, 'holding beats free slots');
  });
  it('skips full, down and excluded members; none free: undefined (the run waits)', () => {
    assert.equal(pickMember([m({ busy: 1, holds: true }), m()]), 1, 'the holder is full: the other');
    assert.equal(pickMember([m({ usable: false, holds: true }), m()]), 1);
    assert.equal(pickMember([m({ busy: 1 }), m({ busy: 1 })]), undefined);
    assert.equal(pickMember([m({ capacity: Infinity, busy: 7 })]), 0, 'this machine without a bound');
  });
  it('default capacity: 2 vCPUs and 1 GiB per sandbox, a quarter of memory kept, at least 1', () => {
    assert.equal(defaultCapacity(2, 24 * 1024), 1);
    assert.equal(defaultCapacity(32, 16 * 1024), 12);
    assert.equal(defaultCapacity(64, 256 * 1024), 32);
    assert.equal(defaultCapacity(1, 512), 1);
  });
});
