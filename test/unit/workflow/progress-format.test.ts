import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { etaSeconds, formatBytes, formatDuration, formatProgress, progressBar } from '../../../main/core/domain/progress-format.ts';

describe('progress formatting', () => {
  it('formats a byte progress with bar, amounts, rate and ETA', () => {
    assert.equal(formatProgress({ stage: 'capturing', current: 1.2e9, total: 2e9, bytesPerSec: 45e6 }),
      'capturing  ████░░░░ 1.2 GB / 2.0 GB  45 MB/s  ETA 18s');
  });

  it('uses the reported ETA when there is one and appends the step', () => {
    assert.equal(formatProgress({ stage: 'building', current: 5e8, total: 1e9, etaSec: 125, step: 'mkfs' }),
      'building   ████░░░░ 500 MB / 1.0 GB  ETA 2m05s  mkfs');
  });

  it('without a total: no bar, no ETA', () => {
    assert.equal(formatProgress({ stage: 'capturing', current: 1.2e9, bytesPerSec: 45e6, etaSec: 10 }), 'capturing  1.2 GB  45 MB/s');
    assert.equal(formatProgress({ stage: 'booting', step: 'waiting for sshd' }), 'booting    waiting for sshd');
  });

  it('counts items when asked', () => {
    assert.equal(formatProgress({ stage: 'swapping', current: 3, total: 12, bytesPerSec: 2 }, { unit: 'items', width: 4 }),
      'swapping   █░░░ 3 / 12  2/s  ETA 5s');
  });

  it('bytes: decimal units, rounding at the 10 boundary, garbage in -> ?', () => {
    assert.deepEqual([0, 999, 1000, 9_949, 9_960, 45_000_000, 1.5e12].map(formatBytes),
      ['0 B', '999 B', '1.0 kB', '9.9 kB', '10 kB', '45 MB', '1.5 TB']);
    assert.equal(formatBytes(-1), '?');
    assert.equal(formatBytes(Number.NaN), '?');
  });

  it('durations and bars', () => {
    assert.deepEqual([0, 18.4, 59.6, 125, 3725].map(formatDuration), ['0s', '18s', '1m00s', '2m05s', '1h02m']);
    assert.equal(progressBar(0.5, 4), '██░░');
    assert.equal(progressBar(2, 3), '███');
    assert.equal(progressBar(Number.NaN, 2), '░░');
    assert.equal(etaSeconds({ stage: 'x', current: 10, total: 10, bytesPerSec: 0 }), undefined);
    assert.equal(etaSeconds({ stage: 'x', current: 12, total: 10, bytesPerSec: 1 }), 0);
  });
});
