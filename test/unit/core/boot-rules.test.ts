// What boots, and which kernel boots next: the pure rules behind the reboot rehearsal and `--reboot auto`.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { bootChanges, describeBootChanges } from '../../../main/core/domain/boot-changes.ts';
import { planRestart } from '../../../main/core/domain/restart-plan.ts';
import { grubDefault, grubWords, parseGrubEnv, parseGrubMenu } from '../../../main/core/domain/grub-menu.ts';
import { chooseRebootKernel, sandboxBootArgs, unknownBootDevices, uuidsIn, type BootFilesView } from '../../../main/core/domain/reboot-kernel.ts';
import { bootStopLine, failuresFromConsole } from '../../../main/core/domain/boot-console.ts';
import { resolveMapFile } from '../../../main/core/domain/map-resolve.ts';
import { NO_SYSTEMD, planRebootRehearsal, rebootProblems, rebootSummary, type RebootObservation } from '../../../main/core/workflow/reboot-rehearsal.ts';
import type { Entry } from '../../../main/core/domain/manifest.ts';

const GRUB = readFileSync(new URL('./fixtures/grub-debian12.cfg', import.meta.url), 'utf8');
const ROOT_UUID = '3f1b2c4d-5e6f-4a1b-9c2d-0e1f2a3b4c5d';
const noPackages = { upgraded: [], installed: [], removed: [] };

describe('what boots (boot-changes.ts)', () => {
  it('a second kernel: kernel, initrd and modules, in the reboot tier', () => {
    const c = bootChanges({ added: ['boot/vmlinuz-6.12.9-amd64', 'boot/initrd.img-6.12.9-amd64', 'usr/lib/modules/6.12.9-amd64/a.ko', 'usr/lib/modules/6.12.9-amd64/b.ko'], changed: ['var/lib/dpkg/status'], removed: [] },
      { upgraded: [], installed: [{ name: 'linux-image-6.12.9-amd64', to: '6.12.9-1' }], removed: [] });
    assert.deepEqual(c.all.map((x) => [x.what, x.tier, x.count]), [
      ['kernel', 'reboot', 1], ['initrd', 'reboot', 1], ['kernel modules', 'reboot', 2], ['kernel package', 'reboot', 1]]);
    assert.deepEqual(describeBootChanges(c.all).slice(2), ['kernel modules (2 changes, first /usr/lib/modules/6.12.9-amd64/a.ko)', 'kernel package (package linux-image-6.12.9-amd64)']);
    assert.equal(c.rebootPaths.length, 4);
  });

  it('fstab, crypttab, bootloader config, enablement and the default target change the next boot only', () => {
    for (const p of ['etc/fstab', 'etc/crypttab', 'boot/grub/grub.cfg', 'etc/default/grub', 'etc/default/grub.d/50-cloud.cfg', 'boot/efi/EFI/debian/grubx64.efi',
      'etc/systemd/system/multi-user.target.wants/redis-server.service', 'etc/systemd/system/default.target', 'lib/systemd/system/sockets.target.wants/x.socket',
      'vmlinuz', 'etc/modprobe.d/blacklist.conf']) {
      const c = bootChanges({ changed: [p] });
      assert.equal(c.all.length, 1, p);
      assert.equal(c.all[0]!.tier, 'next-boot', p);
      assert.deepEqual(c.rebootPaths, [], p);
    }
  });

  it('an ordinary package upgrade changes nothing that boots (unit files themselves, binaries, docs)', () => {
    const c = bootChanges({ added: [], changed: ['lib/systemd/system/hello-service@.service', 'lib/systemd/system/hello-service.socket',
      'usr/lib/hello-service/handler', 'var/lib/dpkg/status', 'usr/share/doc/hello-service/changelog.gz', 'etc/hello.conf'], removed: [] },
    { upgraded: [{ name: 'hello-service', from: '1.0', to: '2.0' }], installed: [], removed: [] });
    assert.deepEqual(c.all, []);
  });

  it('a removed old kernel changes the next boot, but is no reason to reboot the running host', () => {
    const c = bootChanges({ added: [], changed: [], removed: ['boot/vmlinuz-6.1.0-9-amd64'] });
    assert.equal(c.all.length, 1);
    assert.deepEqual(c.rebootPaths, []);
  });

  it('--reboot auto on the host and the rehearsal use the same table: every host reboot is rehearsed', () => {
    const samples = ['boot/vmlinuz-6.1.0-10-amd64', 'boot/initrd.img-6.1.0-10-amd64', 'lib/modules/6.1.0-10-amd64/x.ko',
      'usr/lib/x86_64-linux-gnu/libc.so.6', 'lib64/ld-linux-x86-64.so.2', 'usr/lib/systemd/systemd', 'lib/systemd/libsystemd-shared-252.so',
      'etc/fstab', 'usr/bin/ls', 'etc/motd'];
    for (const p of samples) {
      const hostReboots = planRestart([p], 'auto').reboot;
      const rehearsed = planRebootRehearsal('auto', { added: [], changed: [p], removed: [] }, noPackages).rehearse;
      if (hostReboots) assert.ok(rehearsed, `${p}: the host reboots, so the sandbox must reboot first`);
    }
    assert.equal(planRestart(['etc/fstab'], 'auto').reboot, false, 'fstab alone: rehearsed, but no host reboot');
  });
});

describe('reboot rehearsal decision and summary', () => {
  it('auto/always/never', () => {
    const kernel = { added: ['boot/vmlinuz-6.12.9-amd64'], changed: [], removed: [] };
    assert.equal(planRebootRehearsal('auto', kernel, noPackages).rehearse, true);
    assert.equal(planRebootRehearsal('never', kernel, noPackages).rehearse, false);
    const none = planRebootRehearsal('auto', { added: [], changed: ['usr/bin/x'], removed: [] }, noPackages);
    assert.equal(none.rehearse, false);
    assert.match(none.reason, /nothing that boots changed/);
    assert.equal(planRebootRehearsal('always', { added: [], changed: [], removed: [] }, noPackages).rehearse, true);
  });

  it('one line for Review and the result', () => {
    assert.equal(rebootSummary({ rehearsed: true, reason: '', because: [], running: '6.12.9-amd64', bootSeconds: 41.4, failedUnits: [], checks: [{ cmd: 'a', ok: true, exitCode: 0 }, { cmd: 'b', ok: true, exitCode: 0 }], ok: true }),
      'reboot rehearsed: 6.12.9-amd64 booted in 41 s, 0 failed units, 2 checks passed');
    assert.equal(rebootSummary({ rehearsed: true, reason: '', because: [], ok: false, failure: 'systemd entered emergency mode' }),
      'reboot rehearsal FAILED: systemd entered emergency mode');
    assert.match(rebootSummary({ rehearsed: false, reason: 'not rehearsed: --reboot-rehearsal never', because: [] }), /^reboot not rehearsed/);
  });
});

describe('reboot rehearsal verdict', () => {
  const ok = { cmd: 'test -s /etc/x', ok: true, exitCode: 0 };
  const seen = (o: Partial<RebootObservation>): RebootObservation => ({
    expected: '6.12.9-amd64', running: '6.12.9-amd64', systemdBefore: true, systemdAfter: true, systemState: 'running',
    settleSeconds: 360, failedUnits: [], checks: [ok], ...o,
  });

  it('systemd hosts: the system state, new failed units, the kernel and the checks', () => {
    assert.deepEqual(rebootProblems(seen({})), []);
    assert.deepEqual(rebootProblems(seen({ systemState: 'degraded' })), []);
    assert.deepEqual(rebootProblems(seen({ systemState: 'starting', jobs: ['42 nginx.service start running'] })),
      ['systemd is starting after 360 s (waiting on: 42 nginx.service start running)']);
    assert.deepEqual(rebootProblems(seen({ running: '6.1.0-50-amd64', failedUnits: ['a.service'], checks: [{ ...ok, ok: false, exitCode: 1 }] })), [
      'it runs kernel 6.1.0-50-amd64, not 6.12.9-amd64', 'failed unit after the reboot: a.service', 'check failed after the reboot: test -s /etc/x']);
  });

  it('a host whose init is not systemd is judged by SSH, the kernel and the checks; one that lost systemd fails', () => {
    const busybox = seen({ systemdBefore: false, systemdAfter: false, systemState: undefined });
    assert.deepEqual(rebootProblems(busybox), []);
    assert.deepEqual(rebootProblems({ ...busybox, checks: [{ ...ok, ok: false, exitCode: 1 }] }), ['check failed after the reboot: test -s /etc/x']);
    assert.deepEqual(rebootProblems(seen({ systemdAfter: false, systemState: undefined })), ['systemd ran as init before the reboot and does not after it']);
    assert.equal(rebootSummary({ rehearsed: true, reason: '', because: [], running: '6.1.0-57-cloud-amd64', bootSeconds: 8.2, systemState: NO_SYSTEMD,
      failedUnits: [], checks: [ok], ok: true }), 'reboot rehearsed: 6.1.0-57-cloud-amd64 booted in 8 s (no systemd: SSH, the kernel and the checks judge it), 1 check passed');
  });
});

describe('GRUB configuration (grub-menu.ts)', () => {
  it('words: quotes, escapes, comments', () => {
    assert.deepEqual(grubWords(`menuentry 'Debian, with Linux 6.1' --class x $menuentry_id_option 'id-1' {`),
      ['menuentry', 'Debian, with Linux 6.1', '--class', 'x', '$menuentry_id_option', 'id-1', '{']);
    assert.deepEqual(grubWords(`set default="\${saved_entry}" # comment`), ['set', 'default=${saved_entry}']);
    assert.deepEqual(grubWords(`echo 'it'\\''s'`), ['echo', "it's"]);
  });

  it("Debian 12's generated menu: entries, a submenu, ids, linux/initrd lines, searched UUIDs", () => {
    const m = parseGrubMenu(GRUB);
    assert.deepEqual(m.items.map((i) => [i.kind, i.title]), [['entry', 'Debian GNU/Linux'], ['submenu', 'Advanced options for Debian GNU/Linux'], ['entry', 'UEFI Firmware Settings']]);
    assert.deepEqual(m.defaults, ['${next_entry}', '0']);
    const first = m.items[0]!.entry!;
    assert.equal(first.linux, '/boot/vmlinuz-6.12.9-amd64');
    assert.deepEqual(first.args, [`root=UUID=${ROOT_UUID}`, 'ro', 'quiet', 'apparmor=0']);
    assert.deepEqual(first.initrds, ['/boot/initrd.img-6.12.9-amd64']);
    assert.deepEqual(first.searchUuids, [ROOT_UUID, ROOT_UUID]);
    assert.equal(m.items[1]!.items!.length, 3);
  });

  it('the next boot: default=0, next_entry, saved_entry by id and by title path, an index into the submenu', () => {
    const m = parseGrubMenu(GRUB);
    assert.equal(grubDefault(m, {})!.title, 'Debian GNU/Linux');
    assert.equal(grubDefault(m, { next_entry: '1>2' })!.entry!.linux, '/boot/vmlinuz-6.1.0-50-amd64');
    const saved = parseGrubMenu(GRUB.replace('set default="0"', 'set default="${saved_entry}"'));
    const env = (id: string) => parseGrubEnv(`# GRUB Environment Block\nsaved_entry=${id}\n####`);
    assert.equal(grubDefault(saved, env(`gnulinux-advanced-${ROOT_UUID}>gnulinux-6.1.0-50-amd64-advanced-${ROOT_UUID}`))!.entry!.linux,
      '/boot/vmlinuz-6.1.0-50-amd64');
    // as GRUB itself: an entry of a submenu is found only through its submenu, else the first entry boots
    assert.equal(grubDefault(saved, env(`gnulinux-6.1.0-50-amd64-advanced-${ROOT_UUID}`))!.entry!.linux, '/boot/vmlinuz-6.12.9-amd64');
    assert.equal(grubDefault(saved, { saved_entry: 'Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-50-amd64' })!.entry!.linux,
      '/boot/vmlinuz-6.1.0-50-amd64');
    assert.equal(grubDefault(saved, {})!.title, 'Debian GNU/Linux', 'saved without saved_entry: the first');
    const gone = grubDefault(m, { next_entry: 'no-such-entry' })!;
    assert.equal(gone.title, 'Debian GNU/Linux');
    assert.match(gone.how, /names no menu entry: GRUB falls back to the first/);
  });
});

describe('the kernel the host boots next (reboot-kernel.ts)', () => {
  const view = (over: Partial<BootFilesView> = {}): BootFilesView => {
    const files = new Set(['boot/vmlinuz-6.1.0-50-amd64', 'boot/initrd.img-6.1.0-50-amd64', 'boot/vmlinuz-6.12.9-amd64', 'boot/initrd.img-6.12.9-amd64']);
    return {
      bootNames: [...files].map((f) => f.slice(5)), bootIsSeparate: false,
      resolveFile: (k) => (files.has(k) ? k : undefined), ...over,
    };
  };

  it('no GRUB configuration: the newest kernel, with its initrd; nothing of the host to pass on', () => {
    const k = chooseRebootKernel(view());
    assert.ok(!('error' in k));
    assert.equal(k.version, '6.12.9-amd64');
    assert.deepEqual(k.initrds, ['boot/initrd.img-6.12.9-amd64']);
    assert.match(k.chosenBy, /newest kernel in \/boot \(no GRUB configuration/);
  });

  it("GRUB's default entry, its arguments and UUIDs; a one-time next_entry wins", () => {
    const k = chooseRebootKernel(view({ grubCfg: GRUB }));
    assert.ok(!('error' in k));
    assert.equal(k.kernel, 'boot/vmlinuz-6.12.9-amd64');
    assert.deepEqual(k.uuids, [ROOT_UUID]);
    assert.match(k.chosenBy, /entry 'Debian GNU\/Linux' \(default=0\)/);
    const once = chooseRebootKernel(view({ grubCfg: GRUB, grubEnv: 'next_entry=1>2\n' }));
    assert.ok(!('error' in once));
    assert.equal(once.version, '6.1.0-50-amd64');
  });

  it('/boot on its own filesystem: GRUB paths are relative to it', () => {
    const cfg = GRUB.replaceAll('/boot/vmlinuz', '/vmlinuz').replaceAll('/boot/initrd', '/initrd');
    const k = chooseRebootKernel(view({ grubCfg: cfg, bootIsSeparate: true }));
    assert.ok(!('error' in k));
    assert.equal(k.kernel, 'boot/vmlinuz-6.12.9-amd64');
  });

  it('an entry that loads a kernel the map does not have: the host would not boot', () => {
    const k = chooseRebootKernel(view({ grubCfg: GRUB.replaceAll('6.12.9', '6.12.10') }));
    assert.ok('error' in k);
    assert.match(k.error, /loads \/boot\/vmlinuz-6\.12\.10-amd64, which is not in the map/);
  });

  it('an entry whose root UUID is none the host knows', () => {
    const k = chooseRebootKernel(view({ grubCfg: GRUB }));
    assert.ok(!('error' in k));
    assert.deepEqual(unknownBootDevices(k, uuidsIn(`UUID=${ROOT_UUID.toUpperCase()} / ext4 errors=remount-ro 0 1\nUUID=ABCD-1234 /boot/efi vfat umask=0077 0 1`)), []);
    assert.deepEqual(unknownBootDevices(k, ['11111111-2222-3333-4444-555555555555']), [ROOT_UUID]);
    assert.deepEqual(unknownBootDevices(k, []), [], 'nothing known: nothing judged');
  });

  it("the sandbox's direct boot keeps the host's own arguments but not its disks or consoles", () => {
    assert.equal(sandboxBootArgs(['BOOT_IMAGE=/boot/vmlinuz-6.1', `root=UUID=${ROOT_UUID}`, 'ro', 'quiet', 'apparmor=0', 'console=tty0', 'resume=UUID=x', 'init=/lib/systemd/systemd'],
      'root=/dev/vda rw console=ttyS0'),
    'apparmor=0 init=/lib/systemd/systemd root=/dev/vda rw console=ttyS0 quiet systemd.show_status=auto systemd.status_unit_format=name');
  });
});

describe('console and map helpers', () => {
  it('lines that end a boot', () => {
    assert.equal(bootStopLine('\x1b[0;1;31mYou are in emergency mode.\x1b[0m After logging in, type "journalctl -xb"'), 'systemd entered emergency mode');
    assert.equal(bootStopLine('Cannot open access to console, the root account is locked.'), 'systemd entered emergency mode');
    assert.equal(bootStopLine('[    2.1] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)'), 'kernel panic');
    assert.equal(bootStopLine('ALERT!  UUID=3f1b does not exist.  Dropping to a shell!'), 'the initramfs did not find the root filesystem');
    assert.equal(bootStopLine('[  OK  ] Reached target multi-user.target - Multi-User System.'), undefined);
    assert.equal(bootStopLine('Starting emergency.service'), undefined);
  });

  it('failed units from status lines', () => {
    const lines = [
      '[\x1b[0;1;31m TIME \x1b[0m] Timed out waiting for device \x1b[0;1;39mdev-vdz.device\x1b[0m - /dev/vdz.',
      '[\x1b[0;1;38;5;185mDEPEND\x1b[0m] Dependency failed for \x1b[0;1;39mmnt-data.mount\x1b[0m - /mnt/data.',
      '[DEPEND] Dependency failed for local-fs.target - Local File Systems.',
      '[FAILED] Failed to mount mnt-data.mount - /mnt/data.',
      '[  OK  ] Started systemd-journald.service - Journal Service.',
    ];
    assert.deepEqual(failuresFromConsole(lines), ['dev-vdz.device - /dev/vdz: timed out', 'mnt-data.mount - /mnt/data: dependency failed',
      'local-fs.target - Local File Systems: dependency failed', 'mnt-data.mount - /mnt/data: failed to mount']);
  });

  it('symlinks are followed inside the map, never out of it', () => {
    const e = (path: string, type: Entry['type'], extra: Partial<Entry> = {}): [string, Entry] =>
      [path, { path, type, mode: 0o644, uid: 0, gid: 0, mtimeNs: '0', size: 0, ...extra }];
    const m = new Map([e('boot', 'dir'), e('boot/vmlinuz-6.1', 'file'), e('vmlinuz', 'symlink', { target: 'boot/vmlinuz-6.1' }),
      e('abs', 'symlink', { target: '/boot/vmlinuz-6.1' }), e('up', 'symlink', { target: '../../../boot/vmlinuz-6.1' }),
      e('loop', 'symlink', { target: 'loop' }), e('hl', 'hardlink', { linkTo: 'boot/vmlinuz-6.1' }), e('etc', 'symlink', { target: '/etc' })]);
    assert.equal(resolveMapFile(m, 'vmlinuz'), 'boot/vmlinuz-6.1');
    assert.equal(resolveMapFile(m, 'abs'), 'boot/vmlinuz-6.1');
    assert.equal(resolveMapFile(m, 'up'), 'boot/vmlinuz-6.1');
    assert.equal(resolveMapFile(m, 'hl'), 'boot/vmlinuz-6.1');
    assert.equal(resolveMapFile(m, 'loop'), undefined);
    assert.equal(resolveMapFile(m, 'etc/fstab'), undefined);
    assert.equal(resolveMapFile(m, 'boot'), undefined, 'a directory is no file');
  });
});
