// The ssh:// capture path on a host where the login cannot read everything (no root, no sudo; or files
// root cannot open on some mounts): tar archives the rest and exits 2; the capture lists those files as
// unreadable, like a dir: capture, instead of failing whole.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NOBODY, runTsAsNobody } from '../../integration/helpers/run-as-nobody.ts';

const isRoot = process.getuid?.() === 0;
let work: string;
before(() => { work = mkdtempSync(join(tmpdir(), 'understudy-tar-unreadable-')); chmodSync(work, 0o755); });
after(() => rmSync(work, { recursive: true, force: true }));

test('files tar cannot open are listed as unreadable; the rest is captured', { skip: !isRoot && 'needs root (to run as nobody)' }, () => {
  const root = join(work, 'tree'), store = join(work, 'store');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc', 'readable'), 'ok\n');
  writeFileSync(join(root, 'etc', 'secret'), 'no\n');
  chmodSync(join(root, 'etc', 'secret'), 0o000);
  writeFileSync(join(root, 'notes'), 'also ok\n');
  mkdirSync(store);
  chownSync(store, NOBODY, NOBODY);
  const out = JSON.parse(runTsAsNobody('test/unit/maps/helpers/tar-capture.ts', [store, root], { HOME: '/tmp' }).trim().split('\n').pop()!) as {
    result: { files: number }; paths: string[]; excluded: Array<{ path: string; reason: string; detail?: string }>;
  };
  assert.deepEqual(out.paths.sort(), ['', 'etc', 'etc/readable', 'notes']);
  assert.equal(out.result.files, 2);
  const secret = out.excluded.find((x) => x.path === 'etc/secret');
  assert.equal(secret?.reason, 'unreadable');
  assert.match(secret?.detail ?? '', /Permission denied/);
});
