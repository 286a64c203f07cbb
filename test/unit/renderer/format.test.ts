// The renderer's pure formatting: what operators read at a glance must be right.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes, formatSeconds, groupByDirectory } from '../../../renderer/src/format.ts';
import { parseRoute, href } from '../../../renderer/src/router.ts';

test('bytes and durations', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(3 * 2 ** 30), '3.0 GiB');
  assert.equal(formatBytes(undefined), '—');
  assert.equal(formatSeconds(2.345), '2.3 s');
  assert.equal(formatSeconds(75), '1m 15s');
  assert.equal(formatSeconds(3 * 3600 + 120), '3h 02m');
});

test('files group by directory, sorted, root files under /', () => {
  assert.deepEqual(groupByDirectory(['usr/bin/b', 'etc/x.conf', 'usr/bin/a', 'vmlinuz', '/etc/y']), [
    { dir: '/', names: ['vmlinuz'] },
    { dir: '/etc', names: ['x.conf', 'y'] },
    { dir: '/usr/bin', names: ['a', 'b'] },
  ]);
});

test('routes round-trip through the hash', () => {
  for (const r of [{ screen: 'hosts' }, { screen: 'history' }, { screen: 'new', target: 'ssh://root@web1:22' }, { screen: 'run', id: '20261125-224624-71c37a' }] as const) {
    assert.deepEqual(parseRoute(href(r)), r);
  }
  assert.deepEqual(parseRoute('#/nonsense'), { screen: 'hosts' });
});
