// Pure rules of the sandbox: sandbox-only paths, kernel choice, package changes, the changed-only
// capture's directory choice and merge, the delta's tolerance for the disk's whole-second mtimes,
// libvirt domain XML, and module dependencies of the tiny guest.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Entry, Manifest } from '../../../main/core/domain/manifest.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';
import { isEdited, isSandboxOnly, planSandboxEdits } from '../../../main/adapters/sandbox/sandbox-edits.ts';
import { APT_PROXY_CONF_KEY } from '../../../main/adapters/proxy/guest-forward.ts';
import { pickKernel } from '../../../main/adapters/sandbox/kernel-select.ts';
import { execSync } from 'node:child_process';
import { PACKAGE_LIST_CMD, diffPackages, parsePackageList } from '../../../main/adapters/sandbox/package-changes.ts';
import { mergeUnchanged, unchangedDirs } from '../../../main/adapters/sandbox/capture-changed.ts';
import { effectiveMap2 } from '../../../main/app/stage-services/effective-map2.ts';
import { diffMaps } from '../../../main/core/domain/map-diff.ts';
import { buildDomainXml } from '../../../main/adapters/libvirt/domain-xml.ts';
import { moduleDepends } from '../../../main/adapters/sandbox/tiny-guest.ts';

const dir = (path: string): Entry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtimeNs: '1000000000123', size: 0 });
const file = (path: string, sha = 'a'.repeat(64), mtimeNs = '1700000000123456789'): Entry =>
  ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeNs, size: 3, sha256: sha });
const manifest = (entries: Entry[], excluded: Manifest['excluded'] = []): Manifest =>
  ({ version: 1, target: 'dir:/x', host: 'x', capturedAt: '2026-01-01T00:00:00Z', entries, excluded, unstable: [], filesystems: [] });

describe('sandbox-only paths', () => {
  it('covers the injected key, host keys, fstab, logs; not real upgrade changes, package state included', () => {
    for (const p of ['etc/fstab', 'root/.ssh/authorized_keys', 'etc/ssh/ssh_host_ed25519_key', 'var/log/journal/x/system.journal',
      'etc/machine-id', 'lost+found', 'var/lib/systemd/random-seed', 'var/lib/systemd/timers/stamp-fstrim.timer']) assert.equal(isSandboxOnly(p), true, p);
    for (const p of ['etc/ssh/sshd_config', 'var/lib/dpkg/status', 'usr/bin/hello-service', 'var/logger', 'etc/fstab.d',
      'var/lib/systemd/deb-systemd-helper-enabled/redis-server.service.dsh-also', 'var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/redis-server.service',
      'var/lib/systemd/catalog/database', 'var/lib/apt/extended_states', 'var/lib/ucf/registry', 'etc/alternatives/editor', 'var/lib/dpkg/alternatives/editor',
      'etc/systemd/system/multi-user.target.wants/ssh.service', 'etc/systemd/system/multi-user.target.wants/systemd-networkd.service', 'etc/systemd/system/sshd.service']) {
      assert.equal(isSandboxOnly(p), false, p);
    }
  });

  it("points apt at understudy's proxy where the map has apt, as a sandbox-only file", () => {
    const withApt = planSandboxEdits(manifest([dir(''), dir('etc'), dir('etc/apt'), dir('etc/apt/apt.conf.d')]));
    const conf = withApt.ops.find((o) => o.key === APT_PROXY_CONF_KEY);
    assert.ok(conf && conf.op === 'write');
    assert.match(conf.content, /^Acquire::http::Proxy "http:\/\/10\.0\.2\.100:3128\/";$/m);
    assert.match(conf.content, /^#clear Acquire::http::Proxy;$/m);
    assert.equal(isEdited(APT_PROXY_CONF_KEY), true);
    assert.equal(isSandboxOnly('etc/apt/apt.conf.d/99custom'), false);
    // no apt in the map: no directory made for it (it would be a new path in map2)
    const noApt = planSandboxEdits(manifest([dir(''), dir('etc')]));
    assert.equal(noApt.ops.some((o) => o.key === APT_PROXY_CONF_KEY), false);
    assert.equal(noApt.mkdirs.includes('etc/apt'), false);
  });
});

describe('kernel choice', () => {
  it('takes the newest kernel that has its initrd', () => {
    assert.equal(pickKernel(['vmlinuz-6.1.0-9-amd64', 'initrd.img-6.1.0-9-amd64', 'vmlinuz-6.1.0-10-amd64', 'initrd.img-6.1.0-10-amd64',
      'vmlinuz-6.1.0-11-amd64'], 'm'), '6.1.0-10-amd64');
  });
  it('names what is missing', () => {
    const err = (names: string[]) => { try { pickKernel(names, 'abc'); } catch (e) { return e; } return undefined; };
    const none = err(['grub', 'config-6.1']);
    assert.ok(isUnderstudyError(none) && none.code === 'no-kernel' && /no \/boot\/vmlinuz-\* kernel/.test(none.message));
    const noInitrd = err(['vmlinuz-6.1.0-1-amd64']);
    assert.ok(isUnderstudyError(noInitrd) && /vmlinuz-6\.1\.0-1-amd64 but no matching \/boot\/initrd\.img-VERSION/.test(noInitrd.message));
  });
});

describe('package changes', () => {
  it('reports upgraded with versions, installed and removed; ignores packages not installed', () => {
    const before = parsePackageList('ii \thello-service\t1.0\nii \tlibfoo\t2\nrc \told-conf\t0.1\nii \tgone\t3\n');
    const after = parsePackageList('ii \thello-service\t2.0\nii \tlibfoo\t2\nii \tnewpkg\t1\r\n');
    assert.deepEqual(diffPackages(before, after), {
      upgraded: [{ name: 'hello-service', from: '1.0', to: '2.0' }],
      installed: [{ name: 'newpkg', version: '1' }],
      removed: [{ name: 'gone', version: '3' }],
    });
  });

  it('reads rpm lines too: epochs kept, a package installed in several versions (kernels) listed with all of them', () => {
    const before = parsePackageList('ii\tkernel-core\t5.14.0-70.el9\nii\topenssl\t1:3.0.1-41.el9\n');
    const after = parsePackageList('ii\tkernel-core\t5.14.0-70.el9\nii\tkernel-core\t5.14.0-80.el9\nii\topenssl\t1:3.0.7-6.el9\n');
    assert.deepEqual(diffPackages(before, after), {
      upgraded: [{ name: 'kernel-core', from: '5.14.0-70.el9', to: '5.14.0-70.el9, 5.14.0-80.el9' }, { name: 'openssl', from: '1:3.0.1-41.el9', to: '1:3.0.7-6.el9' }],
      installed: [],
      removed: [],
    });
  });

  it('the list command runs under /bin/sh and lists this machine\'s installed packages', () => {
    const listed = parsePackageList(execSync(PACKAGE_LIST_CMD, { shell: '/bin/sh' }).toString());
    assert.match(listed.get('dpkg') ?? '', /^\d/, 'dpkg itself is installed with a version');
  });
});

describe('changed-only capture', () => {
  const map1 = manifest([dir(''), dir('etc'), dir('etc/apt'), file('etc/apt/sources.list'), dir('etc/ssl'), dir('usr'), dir('usr/lib'),
    file('usr/lib/a'), dir('tmp'), dir('usr/share')]);
  it('skips the maximal unchanged directories, never volatile ones', () => {
    assert.deepEqual(unchangedDirs(map1, ['etc/apt/sources.list', 'usr/lib/a']), ['etc/ssl', 'usr/share']);
    assert.deepEqual(unchangedDirs(map1, []), ['etc', 'usr']);
  });
  it('merges map1 back under the skipped directories and forgets those exclusions', () => {
    const captured = manifest([dir(''), dir('etc'), dir('etc/apt'), file('etc/apt/sources.list', 'b'.repeat(64)), dir('etc/ssl'), dir('usr')],
      [{ path: 'usr', reason: 'operator' }, { path: 'tmp', reason: 'volatile' }]);
    const m = mergeUnchanged(captured, map1, ['usr']);
    assert.deepEqual(m.entries.map((e) => e.path), ['', 'etc', 'etc/apt', 'etc/apt/sources.list', 'etc/ssl', 'usr', 'usr/lib', 'usr/lib/a', 'usr/share']);
    assert.equal(m.entries.find((e) => e.path === 'etc/apt/sources.list')!.sha256, 'b'.repeat(64));
    assert.deepEqual(m.excluded, [{ path: 'tmp', reason: 'volatile' }]);
  });
});

describe('sandbox delta', () => {
  it('ignores whole-second mtimes, sandbox-only edits and excluded paths; keeps real changes', async () => {
    const map1 = manifest([dir(''), file('etc/fstab'), file('usr/a'), file('usr/b'), file('dev/x')]);
    const map2 = manifest([dir(''), file('etc/fstab', 'c'.repeat(64)), file('usr/a', undefined, '1700000000000000000'),
      file('usr/b', 'd'.repeat(64)), file('usr/new')], [{ path: 'dev', reason: 'pseudo-fs' }]);
    // map2 as the swap sees it (no sparse files here, so the store is never read)
    const eff = (await effectiveMap2('/nonexistent-store', map1, map2)).manifest;
    assert.deepEqual(diffMaps(map1, eff, false), { added: ['usr/new'], changed: ['usr/b'], removed: [] });
  });
});

describe('libvirt domain XML', () => {
  it('direct kernel boot, escaped paths, passthrough user net with restrict, hostfwd and guestfwd', () => {
    const xml = buildDomainXml({
      name: 'x', disks: [{ path: '/tmp/a&b.qcow2', format: 'qcow2' }], kernel: '/k', initrd: '/i', cmdline: 'root=/dev/vda',
      memoryMiB: 512, cpus: 1, forwardSsh: true, serialLog: '/tmp/s.log',
      guestForwards: [{ guestAddr: '10.0.2.100', guestPort: 80, command: "sh -c 'a,b'" }],
    }, { name: 'understudy-x-1', accel: 'tcg', sshPort: 2222, uid: 0, gid: 0 });
    assert.match(xml, /<domain type='qemu'/);
    assert.match(xml, /<source file='\/tmp\/a&amp;b.qcow2'\/>/);
    assert.match(xml, /restrict=on,hostfwd=tcp:127\.0\.0\.1:2222-:22,guestfwd=tcp:10\.0\.2\.100:80-cmd:sh -c &apos;a,,b&apos;/);
    assert.match(xml, /<qemu:del capability='seccomp-sandbox'\/>/);
    assert.match(xml, /<serial type='file'><source path='\/tmp\/s\.log'\/>/);
  });
});

describe('tiny guest modules', () => {
  it('reads depends= from .modinfo', () => {
    const ko = Buffer.concat([Buffer.from('\x7fELF...\0license=GPL\0depends=virtio_ring,virtio\0name=virtio_net\0')]);
    assert.deepEqual(moduleDepends(ko), ['virtio_ring', 'virtio']);
    assert.deepEqual(moduleDepends(Buffer.from('\0name=x\0')), []);
  });
});
