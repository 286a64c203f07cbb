// A live host: a file that keeps changing while it is read is re-read once, then flagged unstable; the
// capture completes and the rest of the map is exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capture } from '../../../main/adapters/capture/capture.ts';
import { loadMap } from '../../../main/adapters/store/map-store.ts';

test('a file written during the capture is listed as unstable', async () => {
  const work = mkdtempSync(join(tmpdir(), 'understudy-live-'));
  const src = join(work, 'src');
  const writer = spawn('sh', ['-c', `mkdir -p ${src}; : > ${src}/log; while :; do echo line >> ${src}/log; done`]);
  try {
    // let the log grow so that reading it takes a while
    for (;;) {
      await new Promise((r) => setTimeout(r, 50));
      try { if (statSync(join(src, 'log')).size > 200_000) break; } catch { /* not created yet */ }
    }
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
