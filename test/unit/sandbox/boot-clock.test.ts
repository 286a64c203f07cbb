// A boot never counts from within its image's own second (see boot-clock.ts): else every path of a
// freshly built image looks written by the boot.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootStartAfter, CLOCK_MARGIN_SECONDS } from '../../../main/adapters/sandbox/boot-clock.ts';

it('an image written just now: the boot waits, and START is past every ctime the image has', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-boot-clock-'));
  try {
    const img = join(dir, 'root.img');
    writeFileSync(img, 'x');
    const newestCtime = Math.ceil(statSync(img).mtimeMs / 1000); // the image's inodes: at most this
    const t0 = Date.now();
    const start = await bootStartAfter(img);
    assert.ok(Math.floor(start) >= newestCtime, `find -newerct @${Math.floor(start)} lists none of the image's inodes (${newestCtime})`);
    assert.ok(Date.now() >= (newestCtime + CLOCK_MARGIN_SECONDS) * 1000 - 5, 'it waited until the image was the margin old');
    assert.ok(Date.now() - t0 < (CLOCK_MARGIN_SECONDS + 2) * 1000, 'never much longer than the margin');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

it('an image written long ago: no wait, START is the margin before now', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-boot-clock-'));
  try {
    const img = join(dir, 'root.img');
    writeFileSync(img, 'x');
    utimesSync(img, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    const t0 = Date.now();
    const start = await bootStartAfter(img);
    assert.ok(Date.now() - t0 < 500, 'no wait');
    assert.ok(Math.abs(start - (t0 / 1000 - CLOCK_MARGIN_SECONDS)) < 1);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
