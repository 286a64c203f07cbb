// Hypervisor port: boots a disk image with direct kernel boot, SSH forwarded to loopback, and only the
// package mirror reachable from inside. Adapters: qemu (embedded default, QMP on a unix socket) and
// libvirt (@unraid/libvirt, any URI). Both pass test/integration/hypervisor-contract.test.ts.

export type Accel = 'kvm' | 'tcg';

export interface VmSpec {
  /** Human-readable name; adapters add a unique suffix (libvirt domain name, temp dir). */
  name: string;
  /** Disk images, first is the root disk (/dev/vda), then vdb ... qcow2 overlays normally. */
  disks: Array<{ path: string; format: 'qcow2' | 'raw' }>;
  kernel: string;
  initrd?: string;
  /** Kernel command line, e.g. 'root=/dev/vda rw console=ttyS0'. */
  cmdline: string;
  memoryMiB: number;
  cpus: number;
  /** Guest port 22 is forwarded to 127.0.0.1:<allocated port>; see VmHandle.sshPort. */
  forwardSsh: boolean;
  /**
   * Guest TCP address -> program run per connection with the connection on stdin/stdout
   * (QEMU guestfwd=tcp:ADDR:PORT-cmd:PROG). Everything else the guest tries is dropped (restrict=on).
   */
  guestForwards?: Array<{ guestAddr: string; guestPort: number; command: string }>;
  /** File the serial console is written to (kept with the run). */
  serialLog: string;
  /** 'auto' probes KVM with a short timeout and falls back to TCG. */
  accel?: Accel | 'auto';
}

export interface VmHandle {
  readonly id: string;
  readonly accel: Accel;
  /** Loopback port that reaches the guest's sshd (when forwardSsh). */
  readonly sshPort: number;
  /** Resolves when the VM process/domain has stopped, whatever the reason. */
  readonly exited: Promise<void>;
  /** Last N lines of the serial console (for boot-timeout messages). */
  serialTail(lines: number): Promise<string>;
  /** ACPI power button; resolves when stopped or after timeoutMs (then the caller may kill()). */
  shutdown(timeoutMs: number): Promise<boolean>;
  /** Immediate stop (QMP quit / virDomainDestroy). Idempotent. */
  kill(): Promise<void>;
  /** Stops the VM if running and removes everything the adapter created (sockets, temp dirs, domain). */
  dispose(): Promise<void>;
}

export interface Hypervisor {
  readonly kind: 'qemu' | 'libvirt';
  /** Boots the VM; rejects with UnderstudyError('hypervisor') when it cannot start. Honors signal. */
  start(spec: VmSpec, signal?: AbortSignal): Promise<VmHandle>;
}
