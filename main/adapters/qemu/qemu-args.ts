// Pure: the qemu-system-x86_64 command line for a VmSpec (unit-tested in test/unit/adapters/qemu-args.test.ts).
// Direct kernel boot, virtio disks, user-mode network with restrict=on (the guest reaches only the
// guestfwd programs), SSH forwarded to a loopback port, QMP on a unix socket, serial console to a file.
import type { Accel, VmSpec } from '../../core/ports/hypervisor.port.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';

export interface QemuRuntime {
  accel: Accel;
  /** Loopback port forwarded to guest port 22 (ignored unless spec.forwardSsh). */
  sshPort: number;
  qmpSocket: string;
  pidFile: string;
}

/** QEMU option values separate suboptions with ','; a literal comma is written ',,'. */
export const escapeOptionValue = (v: string): string => v.replace(/,/g, ',,');

/**
 * The TCG guest CPU. QEMU 7.2's TCG (Debian 12) leaves EFLAGS corrupted after `cmpxchg16b %gs:(...)`, which
 * Linux 6.8+ uses in its SLUB fast path: Debian's 6.12 kernels (bookworm-backports, trixie) double-fault
 * while udev loads modules (measured: 3 boots of 3). Without cx16 the kernel takes its locked slow path and
 * boots (2 of 2); 6.1 boots either way.
 */
export const TCG_CPU = 'max,cx16=off';

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Throws UnderstudyError('hypervisor') for a spec QEMU would misread (called before anything is created). */
export function checkSpec(spec: VmSpec): void {
  const bad = (what: string) => { throw new UnderstudyError('hypervisor', `VM ${spec.name}: ${what}`); };
  if (spec.disks.length === 0) bad('no disk');
  if (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB < 64) bad(`memory ${spec.memoryMiB} MiB is too small`);
  if (!Number.isInteger(spec.cpus) || spec.cpus < 1) bad(`cpus must be a positive integer, got ${spec.cpus}`);
  for (const f of spec.guestForwards ?? []) {
    if (!IPV4.test(f.guestAddr)) bad(`guest forward address '${f.guestAddr}' is not an IPv4 address`);
    if (!Number.isInteger(f.guestPort) || f.guestPort < 1 || f.guestPort > 65535) bad(`guest forward port ${f.guestPort}`);
    if (!f.command.trim()) bad('guest forward without a command');
  }
}

export function buildQemuArgs(spec: VmSpec, rt: QemuRuntime): string[] {
  checkSpec(spec);
  const args = [
    '-name', escapeOptionValue(spec.name),
    '-machine', 'q35',
    '-accel', rt.accel,
    '-cpu', rt.accel === 'kvm' ? 'host' : TCG_CPU,
    '-m', String(spec.memoryMiB),
    '-smp', String(spec.cpus),
    '-nodefaults', '-no-user-config', '-display', 'none',
    '-kernel', spec.kernel,
  ];
  if (spec.initrd) args.push('-initrd', spec.initrd);
  args.push('-append', spec.cmdline);
  spec.disks.forEach((d, i) => {
    args.push('-drive', `file=${escapeOptionValue(d.path)},format=${d.format},if=virtio,index=${i},cache=writeback,discard=unmap`);
  });
  const net = ['user', 'id=n0', 'restrict=on'];
  if (spec.forwardSsh) net.push(`hostfwd=tcp:127.0.0.1:${rt.sshPort}-:22`);
  for (const f of spec.guestForwards ?? []) net.push(`guestfwd=tcp:${f.guestAddr}:${f.guestPort}-cmd:${escapeOptionValue(f.command)}`);
  args.push('-netdev', net.join(','), '-device', 'virtio-net-pci,netdev=n0');
  // Entropy for the guest: without it sshd's first start can stall for a long time under TCG.
  args.push('-object', 'rng-random,id=rng0,filename=/dev/urandom', '-device', 'virtio-rng-pci,rng=rng0');
  args.push('-serial', `file:${escapeOptionValue(spec.serialLog)}`);
  args.push('-qmp', `unix:${escapeOptionValue(rt.qmpSocket)},server=on,wait=off`);
  args.push('-pidfile', rt.pidFile);
  return args;
}
