// QEMU adapter: Hypervisor port on qemu-system-x86_64. See qemu-hypervisor.ts; images: image-cache.ts.
export { QemuHypervisor, QemuVm, QEMU_BINARY } from './qemu-hypervisor.ts';
export { resolveAccel, type AccelDecision } from './kvm-probe.ts';
export { buildQemuArgs } from './qemu-args.ts';
export { freeLoopbackPort } from './free-port.ts';
