// Store directory resolution: flag, then $UNDERSTUDY_STORE, then $XDG_DATA_HOME; stores on kernel pseudo
// filesystems (/proc, /sys) are refused up front, through the CLI too (Node's mkdir never returns there).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveStoreDir } from '../../../main/app/store-dir.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';

describe('store directory', () => {
  it('resolves the flag, then $UNDERSTUDY_STORE, then $XDG_DATA_HOME/understudy', () => {
    assert.equal(resolveStoreDir('/tmp/a', { UNDERSTUDY_STORE: '/tmp/b' }), '/tmp/a');
    assert.equal(resolveStoreDir(undefined, { UNDERSTUDY_STORE: '/tmp/b', XDG_DATA_HOME: '/tmp/c' }), '/tmp/b');
    assert.equal(resolveStoreDir(undefined, { XDG_DATA_HOME: '/tmp/c' }), '/tmp/c/understudy');
  });

  it('refuses stores on /proc and /sys, existing or not, with a usage error', () => {
    for (const dir of ['/proc/understudy/store', '/proc/self/fd/x', '/sys/understudy']) {
      assert.throws(() => resolveStoreDir(dir, {}), (e: unknown) => isUnderstudyError(e) && e.code === 'usage'
        && /(proc|sysfs) filesystem that cannot hold files; choose another --store/.test(e.message), dir);
    }
    assert.throws(() => resolveStoreDir(undefined, { UNDERSTUDY_STORE: '/proc/x' }), /proc filesystem/);
  });

  it('the CLI exits 2 at once for --store /proc/..., and works for an ordinary new directory', () => {
    const bad = spawnSync(process.execPath, ['bin/understudy.mjs', 'maps', '--store', '/proc/understudy/store', '--json'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(JSON.parse(bad.stdout.trim().split('\n').pop()!).error.message, /proc filesystem/);
    const dir = mkdtempSync(join(tmpdir(), 'understudy-storedir-'));
    try {
      const ok = spawnSync(process.execPath, ['bin/understudy.mjs', 'maps', '--store', join(dir, 'new', 'store'), '--json'], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(ok.status, 0, ok.stderr);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});
