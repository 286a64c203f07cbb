// Which kernel, initrd and arguments the host's next boot takes, from the files of its map: the entry
// GRUB boots next when the map has a GRUB configuration (grub-menu.ts), else the newest
// /boot/vmlinuz-VERSION (what Debian's GRUB scripts, and understudy's first sandbox boot, take), with
// /boot/initrd.img-VERSION when there is one. Also: whether that entry points at filesystems the host
// has (an entry naming a UUID the host does not have drops the host into an initramfs shell or GRUB's
// rescue prompt). Pure: the caller reads the files and resolves symlinks inside the map.
import { grubDefault, parseGrubEnv, parseGrubMenu } from './grub-menu.ts';

export interface RebootKernel {
  /** Map keys of the kernel and the initrd(s), in the order the boot loads them. */
  kernel: string;
  initrds: string[];
  /** From the kernel's file name (vmlinuz-VERSION), when it has one. */
  version?: string;
  /** The host's own kernel arguments (GRUB entry), root= and the like included; [] when none. */
  args: string[];
  /** Why this one, for the operator: "GRUB's default entry 'Debian GNU/Linux' (default=0)". */
  chosenBy: string;
  /** UUIDs the entry needs (root=UUID=, GRUB's search --fs-uuid). */
  uuids: string[];
}

export interface BootFilesView {
  /** Names of the regular files directly under /boot. */
  bootNames: string[];
  grubCfg?: string;
  grubEnv?: string;
  /** /boot is a filesystem of its own on the host (GRUB's paths are then relative to it). */
  bootIsSeparate: boolean;
  /** The regular file a map key ends at, following symlinks inside the map; undefined if none. */
  resolveFile(key: string): string | undefined;
}

export const compareKernelVersions = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

/** GRUB path -> map key: relative to /boot when /boot is its own filesystem, else to /. */
function grubPathKey(path: string, v: BootFilesView): string | undefined {
  const rel = path.replace(/^\/+/, '');
  const order = v.bootIsSeparate ? [`boot/${rel}`, rel] : [rel, `boot/${rel}`];
  for (const k of order) { const f = v.resolveFile(k); if (f) return f; }
  return undefined;
}

const versionOf = (key: string): string | undefined => /(?:^|\/)vmlinu[xz]-([^/]+)$/.exec(key)?.[1];

function newest(v: BootFilesView, why: string): RebootKernel | { error: string } {
  const versions = v.bootNames.filter((n) => n.startsWith('vmlinuz-')).map((n) => n.slice(8)).sort(compareKernelVersions);
  const version = versions.pop();
  if (!version) return { error: 'the map has no /boot/vmlinuz-* kernel' };
  const initrd = v.bootNames.includes(`initrd.img-${version}`) ? [`boot/initrd.img-${version}`] : [];
  return { kernel: `boot/vmlinuz-${version}`, initrds: initrd, version, args: [], uuids: [], chosenBy: `the newest kernel in /boot (${why})` };
}

export function chooseRebootKernel(v: BootFilesView): RebootKernel | { error: string } {
  if (v.grubCfg === undefined) return newest(v, 'no GRUB configuration in the map');
  const menu = parseGrubMenu(v.grubCfg);
  const d = grubDefault(menu, parseGrubEnv(v.grubEnv ?? ''));
  if (!d?.entry) return newest(v, 'grub.cfg has no menu entry');
  const e = d.entry;
  if (!e.linux) return newest(v, `GRUB's default entry '${d.title}' has no linux line`);
  const kernel = grubPathKey(e.linux, v);
  if (!kernel) return { error: `GRUB's next boot, entry '${d.title}' (${d.how}), loads ${e.linux}, which is not in the map: the host would not boot it` };
  const initrds: string[] = [];
  for (const p of e.initrds) {
    const k = grubPathKey(p, v);
    if (!k) return { error: `GRUB's next boot, entry '${d.title}' (${d.how}), loads the initrd ${p}, which is not in the map: the host would not boot it` };
    initrds.push(k);
  }
  const root = e.args.find((a) => a.startsWith('root='))?.slice(5);
  const uuids = [...new Set([...e.searchUuids, ...(root?.startsWith('UUID=') ? [root.slice(5)] : [])])];
  return {
    kernel, initrds, args: e.args, uuids, chosenBy: `GRUB's next boot: entry '${d.title}' (${d.how})`,
    ...(versionOf(kernel) ? { version: versionOf(kernel) } : {}),
  };
}

/** UUID-shaped words of fstab/crypttab/grub.cfg text (ext4/xfs/btrfs UUIDs and vfat serials). */
export function uuidsIn(text: string): string[] {
  return [...text.matchAll(/\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{4}-[0-9a-f]{4})\b/gi)]
    .map((m) => m[1]!.toLowerCase());
}

/** The entry's UUIDs that none of the host's own configuration names (empty when `known` is empty:
 *  nothing to judge by). */
export function unknownBootDevices(k: RebootKernel, known: Iterable<string>): string[] {
  const set = new Set([...known].map((u) => u.toLowerCase()));
  if (!set.size) return [];
  return k.uuids.filter((u) => !set.has(u.toLowerCase()));
}

/** Kernel arguments for the sandbox's direct boot: the host's own, minus what names the host's disks or
 *  consoles (the sandbox has one virtio root disk and a serial console), then the sandbox's. */
export function sandboxBootArgs(hostArgs: string[], sandboxCmdline: string): string {
  const dropped = /^(BOOT_IMAGE|root|rootfstype|rootflags|resume|resume_offset|console|ip|cryptdevice|rd\.luks\.[a-z.]+|rd\.lvm\.[a-z.]+|rd\.md\.[a-z.]+|rd\.break)=|^(ro|rw|quiet|splash)$/;
  const kept = hostArgs.filter((a) => !dropped.test(a));
  // quiet: under TCG every console byte is an emulated UART write (the kernel's log alone costs ~20 s);
  // panics, initramfs errors and systemd's failures still print (show_status=auto switches to full status
  // lines on a failure or a slow job), naming units (status_unit_format=name, systemd >= 243: names rather
  // than descriptions, which the serial console's 80 columns cut short)
  return [...kept, sandboxCmdline, 'quiet', 'systemd.show_status=auto', 'systemd.status_unit_format=name'].join(' ').trim();
}
