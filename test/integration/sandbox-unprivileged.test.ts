// A sandbox made entirely by an unprivileged user boots and lets us in: the demo host's tree is captured
// (as root: the host's files are root's), the store is handed to nobody, and nobody builds the base
// image (its own XDG cache), the run's overlay and seed disk, boots it under QEMU and logs in over SSH.
// Inside, sshd runs, the per-run key was installed as root's by the seed unit (the seed disk's files
// are nobody's), and the map's owners are there (/etc/shadow root:shadow). Afterwards no QEMU process
// or sandbox temp dir of this test is left. One boot.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capture } from '../../main/adapters/capture/capture.ts';
import { demoHostImage } from '../../main/adapters/qemu/image-cache.ts';
import { qemuProcessesMentioning } from '../../main/adapters/sandbox/leak-check.ts';
import { NOBODY, runTsAsNobody } from './helpers/run-as-nobody.ts';

const skip = process.getuid?.() !== 0 && 'needs root (to capture the demo tree and act as nobody)';
let work: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'understudy-unprivileged-'));
  chmodSync(work, 0o755);
});

after(() => rmSync(work, { recursive: true, force: true }));

test('nobody builds the sandbox disk of the demo host, boots it and logs in', { skip, timeout: 30 * 60_000 }, async () => {
  const store = join(work, 'store'), cache = join(work, 'cache'), tmp = join(work, 'tmp');
  const { map } = await capture({ store, target: `dir:${(await demoHostImage({ build: true })).tree}` });
  for (const d of [cache, tmp]) mkdirSync(d);
  execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, store, cache, tmp]);
  const check = 'id -u; systemctl is-active ssh; stat -c "%U:%G %a %n" /root/.ssh/authorized_keys /etc/shadow; '
    + 'test -e /var/lib/understudy-sandbox/booted && echo seeded';
  const out = runTsAsNobody('test/integration/helpers/build-base-image.ts', [store, map, '--boot', check], { HOME: cache, XDG_CACHE_HOME: cache, TMPDIR: tmp });
  const r = JSON.parse(out) as { base: { rootImg: string; cached: boolean }; output: string; exitCode: number; clean: boolean };
  assert.equal(r.base.cached, false);
  assert.equal(statSync(r.base.rootImg).uid, NOBODY, 'the image was written by nobody');
  assert.equal(r.exitCode, 0, r.output);
  assert.equal(r.output, '0\nactive\nroot:root 600 /root/.ssh/authorized_keys\nroot:shadow 640 /etc/shadow\nseeded\n');
  assert.equal(r.clean, true, 'clean shutdown');
  assert.deepEqual(qemuProcessesMentioning(tmp), [], 'no sandbox QEMU process left');
  assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('understudy-sandbox-')), [], 'no sandbox temp dir left');
});
