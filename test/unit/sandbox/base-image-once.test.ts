// Runs side by side that need the same sandbox base image (identical hosts in a batch, two runs in the
// server) share one build, and a finished image that sandboxes already use is never removed under them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capture } from '../../../main/adapters/capture/capture.ts';
import { baseImageFor } from '../../../main/adapters/sandbox/disk-build.ts';

test('two runs asking for the same base image at once: one build, the same image for both, and it stays', async () => {
  const root = mkdtempSync(join(tmpdir(), 'understudy-base-once-'));
  const saved = process.env.UNDERSTUDY_IMAGES;
  process.env.UNDERSTUDY_IMAGES = join(root, 'images');
  try {
    const tree = join(root, 'host');
    mkdirSync(join(tree, 'etc'), { recursive: true });
    writeFileSync(join(tree, 'etc', 'hostname'), 'h\n');
    const kernel = join(root, 'vmlinuz');
    writeFileSync(kernel, 'not booted here');
    const store = join(root, 'store');
    const { map } = await capture({ target: `dir:${tree}`, store });
    const [a, b] = await Promise.all([baseImageFor(store, map, { kernel }), baseImageFor(store, map, { kernel })]);
    assert.equal(a.dir, b.dir);
    assert.deepEqual([a.cached, b.cached].sort(), [false, true], 'built once; the other run waited for it');
    const inode = statSync(a.rootImg).ino;
    const c = await baseImageFor(store, map, { kernel });
    assert.equal(c.cached, true);
    assert.equal(statSync(c.rootImg).ino, inode, 'the image in use was not replaced');
  } finally {
    if (saved === undefined) delete process.env.UNDERSTUDY_IMAGES; else process.env.UNDERSTUDY_IMAGES = saved;
    rmSync(root, { recursive: true, force: true });
  }
});
