import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildQemuArgs, escapeOptionValue } from '../../../main/adapters/qemu/qemu-args.ts';
import type { VmSpec } from '../../../main/core/ports/hypervisor.port.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';

const spec = (over: Partial<VmSpec> = {}): VmSpec => ({
  name: 'sandbox', disks: [{ path: '/v/root.qcow2', format: 'qcow2' }, { path: '/v/boot.img', format: 'raw' }],
  kernel: '/k/vmlinuz', initrd: '/k/initrd.img', cmdline: 'root=/dev/vda rw console=ttyS0',
  memoryMiB: 1024, cpus: 2, forwardSsh: true, serialLog: '/run/serial.log', ...over,
});
const rt = { accel: 'tcg' as const, sshPort: 40022, qmpSocket: '/t/qmp.sock', pidFile: '/t/qemu.pid' };
const optionAfter = (args: string[], flag: string) => args.filter((_, i) => args[i - 1] === flag);

describe('buildQemuArgs', () => {
  it('boots the kernel directly with the given command line', () => {
    const a = buildQemuArgs(spec(), rt);
    assert.deepEqual(optionAfter(a, '-kernel'), ['/k/vmlinuz']);
    assert.deepEqual(optionAfter(a, '-initrd'), ['/k/initrd.img']);
    assert.deepEqual(optionAfter(a, '-append'), ['root=/dev/vda rw console=ttyS0']);
    assert.ok(!a.includes('-initrd') || spec().initrd);
    assert.ok(!buildQemuArgs(spec({ initrd: undefined }), rt).includes('-initrd'));
  });

  it('attaches disks as virtio in order, with their formats', () => {
    const drives = optionAfter(buildQemuArgs(spec(), rt), '-drive');
    assert.equal(drives.length, 2);
    assert.match(drives[0]!, /^file=\/v\/root\.qcow2,format=qcow2,if=virtio,index=0,/);
    assert.match(drives[1]!, /^file=\/v\/boot\.img,format=raw,if=virtio,index=1,/);
  });

  it('restricts the network to the ssh forward and the guest forwards', () => {
    const a = buildQemuArgs(spec({ guestForwards: [{ guestAddr: '10.0.2.100', guestPort: 80, command: "node '/r,elay.mjs' 127.0.0.1 8080" }] }), rt);
    assert.deepEqual(optionAfter(a, '-netdev'), [
      "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22,guestfwd=tcp:10.0.2.100:80-cmd:node '/r,,elay.mjs' 127.0.0.1 8080"]);
    assert.ok(!optionAfter(buildQemuArgs(spec({ forwardSsh: false }), rt), '-netdev')[0]!.includes('hostfwd'));
  });

  it('picks the CPU model from the accelerator', () => {
    assert.deepEqual(optionAfter(buildQemuArgs(spec(), rt), '-cpu'), ['max,cx16=off']);
    assert.deepEqual(optionAfter(buildQemuArgs(spec(), { ...rt, accel: 'kvm' }), '-cpu'), ['host']);
    assert.deepEqual(optionAfter(buildQemuArgs(spec(), { ...rt, accel: 'kvm' }), '-accel'), ['kvm']);
  });

  it('puts QMP on the unix socket and the console in the serial log', () => {
    const a = buildQemuArgs(spec({ serialLog: '/runs/a,b/serial.log' }), rt);
    assert.deepEqual(optionAfter(a, '-qmp'), ['unix:/t/qmp.sock,server=on,wait=off']);
    assert.deepEqual(optionAfter(a, '-serial'), ['file:/runs/a,,b/serial.log']);
    assert.ok(a.includes('-nodefaults'));
  });

  it('rejects specs QEMU would misread', () => {
    const bad: Array<Partial<VmSpec>> = [
      { disks: [] }, { memoryMiB: 8 }, { cpus: 0 }, { cpus: 1.5 },
      { guestForwards: [{ guestAddr: 'mirror.local', guestPort: 80, command: 'x' }] },
      { guestForwards: [{ guestAddr: '10.0.2.100', guestPort: 70000, command: 'x' }] },
      { guestForwards: [{ guestAddr: '10.0.2.100', guestPort: 80, command: '  ' }] },
    ];
    for (const b of bad) {
      assert.throws(() => buildQemuArgs(spec(b), rt), (e) => isUnderstudyError(e) && e.code === 'hypervisor', JSON.stringify(b));
    }
  });

  it('escapes commas only', () => {
    assert.equal(escapeOptionValue('a,b,,c d'), 'a,,b,,,,c d');
  });
});
