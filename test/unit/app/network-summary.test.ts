// The lines the run log and the upgrading stage's error show from a network report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failuresSince, networkSummary } from '../../../main/app/stage-services/network-summary.ts';
import { emptyNetworkReport, type NetworkReport } from '../../../main/core/domain/network-report.ts';
import { networkLines } from '../../../main/cli/render/network-lines.ts';

const report = (): NetworkReport => ({
  ...emptyNetworkReport(),
  hosts: [{ host: 'archive.example', port: 80, requests: 12, bytes: 9_000_000, cachedRequests: 3, cachedBytes: 8_000_000, tunnels: 0 },
    { host: 'security.example', port: 443, requests: 2, bytes: 400_000, cachedRequests: 0, cachedBytes: 0, tunnels: 2 }],
  refusals: [{ host: 'example.org', port: 80, path: '/x', count: 2, reason: 'example.org is not a repository of the host\'s apt sources' }],
  failures: [
    { host: 'gone.example', port: 80, cause: 'name not resolved (ENOTFOUND)', phase: 'connect', count: 3, at: '2026-01-01T00:00:05.000Z', path: '/dists/x/InRelease' },
    { host: 'archive.example', port: 80, cause: 'connection reset', phase: 'transfer', count: 1, at: '2026-01-01T00:00:06.000Z' },
    { host: 'old.example', port: 443, cause: 'connection refused', phase: 'connect', count: 1, at: '2026-01-01T00:00:01.000Z' },
  ],
});

test('an unreachable repository since the command started is named with its cause; broken transfers and older ones are not', () => {
  assert.equal(failuresSince(report(), '2026-01-01T00:00:02.000Z'), 'gone.example (port 80): name not resolved (ENOTFOUND) (first: /dists/x/InRelease) [3x]');
  assert.equal(failuresSince(report(), '2026-01-01T00:00:10.000Z'), '');
  assert.equal(failuresSince(emptyNetworkReport(), ''), '');
});

test('summary and report lines show hosts, cache, refusals and failures', () => {
  const s = networkSummary(report());
  assert.match(s, /archive\.example 12 req 9\.0 MB \(8\.0 MB from cache\)/);
  assert.match(s, /1\.4 MB from upstream/);
  assert.match(s, /refused example\.org\/x \(2x\)/);
  const lines = networkLines(report()).join('\n');
  assert.match(lines, /network {2}security\.example {2}2 https tunnels/);
  assert.match(lines, /refused {2}example\.org\/x \(2x\): example\.org is not a repository/);
  assert.match(lines, /unreachable gone\.example \/dists\/x\/InRelease: name not resolved/);
  assert.equal(networkLines(undefined).length, 0);
  assert.match(networkLines(emptyNetworkReport())[0]!, /reached no repository/);
});
