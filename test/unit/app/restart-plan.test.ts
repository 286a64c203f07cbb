import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planRestart } from '../../../main/core/domain/restart-plan.ts';

test('a kernel or libc change asks for a reboot under auto, never under never', () => {
  const paths = ['boot/vmlinuz-6.1.0-99-cloud-amd64', 'usr/bin/hello-service'];
  assert.equal(planRestart(paths, 'auto').reboot, true);
  assert.deepEqual(planRestart(paths, 'auto').rebootBecause, ['boot/vmlinuz-6.1.0-99-cloud-amd64']);
  assert.equal(planRestart(paths, 'never').reboot, false);
  assert.equal(planRestart(['usr/lib/x86_64-linux-gnu/libc.so.6'], 'auto').reboot, true);
});

test('a plain package upgrade restarts the units whose unit files or binaries changed, no reboot', () => {
  const p = planRestart(['lib/systemd/system/hello-service.service', 'usr/bin/hello-service', 'usr/share/doc/x'], 'auto');
  assert.equal(p.reboot, false);
  assert.deepEqual(p.units, ['hello-service.service']);
  assert.deepEqual(p.binaries, ['/usr/bin/hello-service']);
  assert.equal(planRestart([], 'always').reboot, true);
});

test('socket and timer units restart too; template units are left to their socket', () => {
  const p = planRestart(['lib/systemd/system/hello-service.socket', 'lib/systemd/system/hello-service@.service',
    'etc/systemd/system/backup.timer'], 'auto');
  assert.deepEqual(p.units, ['backup.timer', 'hello-service.socket']);
});

test('units the upgrade enabled are started (as apt would on the host), templates and targets are not', () => {
  const p = planRestart(['etc/systemd/system/multi-user.target.wants/nginx.service', 'etc/systemd/system/sockets.target.wants/x.socket',
    'etc/systemd/system/getty.target.wants/getty@tty1.service', 'etc/systemd/system/multi-user.target.wants/remote-fs.target',
    'usr/share/nginx/html/index.html'], 'auto');
  assert.deepEqual(p.start, ['nginx.service', 'x.socket']);
});
