// A live host: a file that keeps changing while it is read is re-read once, then flagged unstable; the
// capture completes and the rest of the map is exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capture } from '../../../main/adapters/capture/capture.ts';
import { loadMap } from '../../../main/adapters/store/map-store.ts';

test('a file written during the capture is listed as unstable', async () => {
  const work = mkdtempSync(join(tmpdir(), 'understudy-live-'));
  const src = join(work, 'src');
  // 32 MB to start with, so that each read of it takes tens of milliseconds (reads are fast: a small
  // file could be read between two appends and rightly count as stable), then appended to nonstop
  mkdirSync(src);
  writeFileSync(join(src, 'log'), Buffer.alloc(32 << 20, 0x2e));
  // at a raised priority where we may (root): on a loaded machine a writer that waits for a core between
  // two reads of the file would let it look stable, which it rightly is then
  const loop = `while :; do echo line >> ${src}/log; done`;
  const writer = process.getuid?.() === 0 ? spawn('nice', ['-n', '-15', 'sh', '-c', loop]) : spawn('sh', ['-c', loop]);
  try {
    while (statSync(join(src, 'log')).size <= 32 << 20) await new Promise((r) => setTimeout(r, 20));
    writeFileSync(join(src, 'steady'), 'steady\n');
    const r = await capture({ store: join(work, 'store'), target: `dir:${src}` });
    const m = (await loadMap(join(work, 'store'), r.map)).manifest;
    assert.deepEqual(m.unstable, ['log']);
    assert.equal(m.entries.find((e) => e.path === 'steady')?.size, 7);
    assert.ok(m.entries.find((e) => e.path === 'log')!.size > 0);
  } finally {
    writer.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  }
});
