// Pure: the libvirt domain XML for a VmSpec. Direct kernel boot, virtio disks, serial console to a file.
// Networking goes through <qemu:commandline> passthrough because libvirt's <interface type='user'> has no
// restrict=on and no guestfwd=...-cmd: (the only way the sandbox reaches the package mirror):
//   -netdev user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:PORT-:22,guestfwd=tcp:ADDR:PORT-cmd:PROG
//   -device virtio-net-pci,netdev=n0,bus=pcie.0,addr=0x10
// Measured on libvirt 9.0 / QEMU 7.2 (see docs/architecture.md):
// - the passthrough -device needs an explicit PCI slot, else it takes slot 1 before libvirt's own
//   pcie-root-port and QEMU refuses to start;
// - libvirt starts QEMU with `-sandbox on,...,spawn=deny`: the first guestfwd connection then forks and
//   seccomp kills QEMU. Dropping the 'seccomp-sandbox' capability for this domain removes -sandbox; the
//   guest is still confined by restrict=on (it reaches nothing but the guestfwd programs);
// - a static DAC label with relabel='no' runs QEMU as the calling user (like the qemu adapter) so
//   libvirt neither chowns our cache files nor needs them readable by libvirt-qemu.
import type { Accel, VmSpec } from '../../core/ports/hypervisor.port.ts';
import { escapeOptionValue } from '../qemu/qemu-args.ts';

export interface DomainRuntime {
  /** Unique domain name. */
  name: string;
  accel: Accel;
  sshPort: number;
  /** uid/gid QEMU runs as (the caller's). */
  uid: number;
  gid: number;
  /** <metadata> naming the process that started the domain (domain-owner.ts). */
  ownerMetadata?: string;
  /**
   * QEMU opens the serial console file itself (a -chardev passthrough) instead of libvirt: libvirtd (root)
   * creates the file root's and 0600, unreadable to a pool member's unprivileged SSH user.
   */
  serialByQemu?: boolean;
}

export const DOMAIN_NS = 'http://libvirt.org/schemas/domain/qemu/1.0';
/** A PCI slot on q35's root bus that libvirt does not hand out for the devices we declare. */
export const NET_PCI_ADDR = '0x10';

export const xmlEscape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

export function netdevOption(spec: VmSpec, sshPort: number): string {
  const net = ['user', 'id=n0', 'restrict=on'];
  if (spec.forwardSsh) net.push(`hostfwd=tcp:127.0.0.1:${sshPort}-:22`);
  for (const f of spec.guestForwards ?? []) net.push(`guestfwd=tcp:${f.guestAddr}:${f.guestPort}-cmd:${escapeOptionValue(f.command)}`);
  return net.join(',');
}

export function buildDomainXml(spec: VmSpec, rt: DomainRuntime): string {
  const e = xmlEscape;
  const disks = spec.disks.map((d, i) => [
    `    <disk type='file' device='disk'>`,
    `      <driver name='qemu' type='${d.format}' cache='writeback' discard='unmap'/>`,
    `      <source file='${e(d.path)}'/>`,
    `      <target dev='vd${String.fromCharCode(97 + i)}' bus='virtio'/>`,
    `    </disk>`,
  ].join('\n'));
  const args = ['-netdev', netdevOption(spec, rt.sshPort), '-device', `virtio-net-pci,netdev=n0,romfile=,bus=pcie.0,addr=${NET_PCI_ADDR}`,
    ...(rt.serialByQemu ? ['-chardev', `file,id=us-serial0,path=${escapeOptionValue(spec.serialLog)}`, '-device', 'isa-serial,chardev=us-serial0'] : [])];
  const needsSpawn = (spec.guestForwards ?? []).length > 0;
  return [
    `<domain type='${rt.accel === 'kvm' ? 'kvm' : 'qemu'}' xmlns:qemu='${DOMAIN_NS}'>`,
    `  <name>${e(rt.name)}</name>`,
    ...(rt.ownerMetadata ? [`  ${rt.ownerMetadata}`] : []),
    `  <memory unit='MiB'>${spec.memoryMiB}</memory>`,
    `  <vcpu>${spec.cpus}</vcpu>`,
    `  <os>`,
    `    <type arch='x86_64' machine='q35'>hvm</type>`,
    `    <kernel>${e(spec.kernel)}</kernel>`,
    ...(spec.initrd ? [`    <initrd>${e(spec.initrd)}</initrd>`] : []),
    `    <cmdline>${e(spec.cmdline)}</cmdline>`,
    `  </os>`,
    `  <features><acpi/></features>`,
    // TCG: the same CPU as the qemu adapter's (TCG_CPU in qemu-args.ts: without cx16, which QEMU 7.2 mis-emulates)
    rt.accel === 'kvm' ? `  <cpu mode='host-passthrough'/>` : `  <cpu mode='maximum'><feature policy='disable' name='cx16'/></cpu>`,
    `  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>`,
    `  <devices>`,
    ...disks,
    ...(rt.serialByQemu ? [] : [`    <serial type='file'><source path='${e(spec.serialLog)}'/><target port='0'/></serial>`]),
    `    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>`,
    `    <controller type='usb' model='none'/>`,
    `    <memballoon model='none'/>`,
    `  </devices>`,
    `  <seclabel type='static' model='dac' relabel='no'><label>+${rt.uid}:+${rt.gid}</label></seclabel>`,
    `  <qemu:commandline>`,
    ...args.map((a) => `    <qemu:arg value='${e(a)}'/>`),
    `  </qemu:commandline>`,
    ...(needsSpawn ? [`  <qemu:capabilities><qemu:del capability='seccomp-sandbox'/></qemu:capabilities>`] : []),
    `</domain>`,
  ].join('\n');
}
