// The collection the transaction asks for between planning and building the plan: what nothing holds is
// gone when it returns (without --expose-gc at start).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectGarbage } from '../../../main/adapters/swap/collect-garbage.ts';

test('collectGarbage frees what nothing holds any more, in a process started without --expose-gc', () => {
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined', 'this process has no gc of its own');
  let garbage: Array<{ i: number; s: string }> | null = Array.from({ length: 300_000 }, (_, i) => ({ i, s: `path/${i}` }));
  const held = process.memoryUsage().heapUsed;
  assert.equal(garbage.length, 300_000);
  garbage = null;
  collectGarbage();
  const after = process.memoryUsage().heapUsed;
  assert.ok(held - after > 10e6, `heap ${(held / 1e6).toFixed(0)} MB -> ${(after / 1e6).toFixed(0)} MB`);
});
