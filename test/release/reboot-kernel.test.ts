// The reboot rehearsal with a second, real Debian kernel (long lane: installing a kernel takes minutes under
// TCG, its initramfs above all; measured 515 s of a 721 s rehearsal at load 12-15). The mirror holds
// bookworm-backports' cloud kernel (vm-images/mirror, backports-kernel.txt); an upgrade installs it on the
// demo host's tree, the sandbox reboots into it (the newest kernel in /boot: the demo host has no GRUB), and
// `uname -r` in the checks after the reboot prints the new version.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { treeHash } from '../integration/helpers/host-trees.ts';
import { aptInstall, rebootFixture, type RebootFixture } from './helpers/reboot-fixture.ts';

describe('reboot rehearsal into a second kernel (real VM)', { timeout: 40 * 60_000 }, () => {
  let f: RebootFixture;
  let kernel: { pkg: string; version: string; uname: string };
  before(async () => {
    f = await rebootFixture();
    const [pkg, version, uname] = readFileSync(join(f.mirror, 'backports-kernel.txt'), 'utf8').trim().split(/\s+/) as [string, string, string];
    kernel = { pkg, version, uname };
  });
  after(() => f?.dispose());

  it('the sandbox reboots into the newly installed kernel and the checks run again on it', async () => {
    const hashBefore = await treeHash(f.tree);
    const r = await f.cli(['rehearse', `dir:${f.tree}`, '--run', aptInstall(kernel.pkg), '--check', 'uname -r', '--check', 'systemctl is-active hello-service.socket']);
    assert.equal(r.code, 0, `${JSON.stringify(r.result.error ?? r.result.reboot)}\n${r.stderr}`);
    const x = r.result;
    assert.deepEqual(x.packages.installed.map((p: any) => [p.name, p.to]), [[kernel.pkg, kernel.version]]);
    assert.ok(x.delta.added.includes(`boot/vmlinuz-${kernel.uname}`), 'the kernel is in the delta');
    const rb = x.reboot;
    assert.equal(rb.rehearsed, true);
    assert.equal(rb.ok, true);
    assert.match(rb.reason, /^what boots changed: .*kernel \(\/boot\/vmlinuz-/);
    assert.equal(rb.kernel.version, kernel.uname);
    assert.equal(rb.kernel.path, `boot/vmlinuz-${kernel.uname}`);
    assert.match(rb.kernel.chosenBy, /newest kernel in \/boot \(no GRUB configuration/);
    assert.equal(rb.running, kernel.uname, 'uname -r after the reboot');
    assert.ok(['running', 'degraded'].includes(rb.systemState), rb.systemState);
    assert.deepEqual(rb.failedUnits, []);
    assert.deepEqual(rb.checks.map((c: any) => [c.cmd, c.ok]), [['uname -r', true], ['systemctl is-active hello-service.socket', true]]);
    // the checks' own output: before the reboot the old kernel, after it the new one
    const out = readFileSync(join(f.store, 'runs', x.run, 'output.log'), 'utf8');
    const unames = [...out.matchAll(/^\$ uname -r\n(.+)$/gm)].map((m) => m[1]);
    assert.equal(unames.length, 2, out);
    assert.notEqual(unames[0], kernel.uname);
    assert.equal(unames[1], kernel.uname);
    assert.equal(await treeHash(f.tree), hashBefore, 'the host tree is unchanged');
    f.assertNoLeftovers();
  });
});
