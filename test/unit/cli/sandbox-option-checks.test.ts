// rehearse/upgrade/batch refuse a mistyped sandbox option before any run exists (exit 2, the option named,
// store not created). The adapters would only notice at boot or disk build, minutes of capture later.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resultOf, runCli } from './run-cli.ts';

test('bad sandbox options are usage errors before anything is created', () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-cli-sandbox-opts-'));
  const store = join(dir, 'store');
  // a dir: host that does not exist: should an option slip through, the run fails in preflight (exit 1), no VM
  const host = `dir:${join(dir, 'no-host')}`;
  const cases: Array<[string[], RegExp]> = [
    [['rehearse', host, '--run', 'true', '--hypervisor', 'xen'], /--hypervisor must be qemu or libvirt, not 'xen'/],
    [['rehearse', host, '--run', 'true', '--libvirt-uri', 'qemu:///system'], /--libvirt-uri needs --hypervisor libvirt/],
    [['rehearse', host, '--run', 'true', '--initrd', '/etc/hostname'], /--initrd needs --kernel/],
    [['rehearse', host, '--run', 'true', '--kernel', join(dir, 'vmlinuz')], /--kernel .*vmlinuz: no such file/],
    [['rehearse', host, '--run', 'true', '--kernel', dir], /--kernel .*: not a regular file/],
    [['rehearse', host, '--run', 'true', '--mirror', join(dir, 'no-mirror')], /--mirror .*no-mirror: not a directory/],
    [['rehearse', host, '--run', 'true', '--mirror', 'https://deb.invalid/debian'], /mirror URLs must be http:\/\//],
    [['rehearse', host, '--run', 'true', '--mirror', `https://deb.invalid/debian=${dir}`], /an https source cannot be served from a mirror/],
    [['rehearse', host, '--run', 'true', '--allow-host', 'http://x.invalid/'], /--allow-host 'http:\/\/x\.invalid\/' is not HOST or HOST:PORT/],
    [['upgrade', host, '--run', 'true', '--yes', '--allow-host', 'x.invalid:99999'], /port 99999 is out of range/],
    [['rehearse', host, '--run', 'true', '--upstream-proxy', 'socks5://127.0.0.1:1080'], /--upstream-proxy .*only http:\/\/ proxies/],
    [['rehearse', host, '--run', 'true', '--upgrade-timeout', '0'], /--upgrade-timeout must be minutes between 1 and 1440/],
    [['upgrade', host, '--run', 'true', '--identity', join(dir, 'id_none')], /--identity .*id_none: no such file/],
    [['upgrade', host, '--run', 'true', '--hypervisor', 'kvm', '--yes'], /--hypervisor must be qemu or libvirt/],
    [['upgrade', 'local', '--run', 'true', '--reboot', 'always'], /--reboot always cannot be honoured on the local target/],
    [['batch', join(dir, 'fleet.yaml'), '--yes', '--hypervisor', 'xen'], /--hypervisor must be qemu or libvirt/],
    [['rehearse', host, '--run', 'true', '--exclude', '/'], /--exclude '\/' would leave out the whole root/],
    [['rehearse', host, '--run', 'true', '--reboot-rehearsal', 'sometimes'], /--reboot-rehearsal must be auto, always or never, not 'sometimes'/],
    [['upgrade', host, '--run', 'true', '--yes', '--reboot-rehearsal', 'yes'], /--reboot-rehearsal must be auto, always or never/],
    [['upgrade', host, '--run', 'true', '--yes', '--exclude', 'var/../../etc'], /--exclude 'var\/..\/..\/etc' has a '..' component/],
  ];
  try {
    for (const [args, message] of cases) {
      const r = runCli([...args, '--store', store, '--json']);
      const what = args.join(' ');
      assert.equal(r.status, 2, `${what}: ${r.stdout}${r.stderr}`);
      const res = resultOf(r);
      assert.deepEqual([res.ok, res.error.code], [false, 'usage'], what);
      assert.match(res.error.message, message, what);
      assert.equal(res.run, undefined, `${what}: no run was started`);
      assert.equal(existsSync(store), false, `${what}: the store is untouched`);
      const human = runCli([...args, '--store', store]);
      assert.equal(human.status, 2, what);
      assert.match(human.stderr, message, `${what}: the same words for a person`);
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('good sandbox options pass the checks (a missing dir: host then fails in preflight, exit 1)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-cli-sandbox-opts-'));
  try {
    const r = runCli(['rehearse', `dir:${join(dir, 'no-host')}`, '--run', 'true', '--hypervisor', 'libvirt', '--libvirt-uri', 'qemu:///system',
      '--kernel', '/etc/hostname', '--initrd', '/etc/hostname', '--mirror', dir, '--mirror', `http://deb.invalid/debian=${dir}`,
      '--allow-host', 'vendor.invalid', '--allow-host', '[::1]:8080', '--upstream-proxy', 'http://user:pw@127.0.0.1:3128',
      '--store', join(dir, 'store'), '--json']);
    assert.equal(r.status, 1, r.stderr);
    const res = resultOf(r);
    assert.equal(res.error.stage, 'preflight');
    assert.match(res.error.message, /is not a directory/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
