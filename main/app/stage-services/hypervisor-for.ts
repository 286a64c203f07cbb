// The Hypervisor adapter an operator chose: qemu (default, no daemon) or libvirt (any URI).
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { Hypervisor } from '../../core/ports/hypervisor.port.ts';
import { QemuHypervisor } from '../../adapters/qemu/qemu-hypervisor.ts';
import { DEFAULT_LIBVIRT_URI, LibvirtHypervisor } from '../../adapters/libvirt/index.ts';

export function hypervisorFor(kind: unknown, uri: unknown): Hypervisor {
  if (kind === undefined || kind === 'qemu') {
    if (uri) throw new UnderstudyError('usage', '--libvirt-uri needs --hypervisor libvirt');
    return new QemuHypervisor();
  }
  if (kind === 'libvirt') return new LibvirtHypervisor({ uri: typeof uri === 'string' ? uri : DEFAULT_LIBVIRT_URI });
  throw new UnderstudyError('usage', `--hypervisor must be qemu or libvirt, not '${String(kind)}'`);
}
