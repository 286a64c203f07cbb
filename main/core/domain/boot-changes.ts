// What in a swap's delta changes how the host boots. ONE rule table serves two decisions, so they can
// never disagree:
//   - the sandbox rehearses a reboot when the next boot differs (every rule: `bootChanges(...).all`);
//   - `--reboot auto` reboots the host when the running system cannot take the change without a reboot
//     (the rules of tier 'reboot', a subset: kernel, initrd, modules, libc, PID 1).
// So the host never reboots into something the sandbox did not boot first. Changes that only the next
// boot sees (fstab, crypttab, bootloader configuration, unit enablement, the default target) are
// rehearsed too: the host will boot them one day, whether understudy reboots it now or not.
// Pure: paths are map keys (no leading '/'), packages come from the run's package changes.
import type { DeltaSummary, PackageChanges } from '../workflow/run-types.ts';

/** 'reboot': the running host needs a reboot to run it; 'next-boot': only what the next boot does changes. */
export type BootTier = 'reboot' | 'next-boot';

interface Rule { what: string; tier: BootTier; path?: RegExp; pkg?: RegExp }

const RULES: readonly Rule[] = [
  { what: 'kernel', tier: 'reboot', path: /^boot\/(vmlinu[xz]|bzImage|kernel)(-|$)/ },
  { what: 'initrd', tier: 'reboot', path: /^boot\/(initrd\.img|initrd-|initramfs-)/ },
  { what: 'kernel modules', tier: 'reboot', path: /^(usr\/)?lib\/modules\// },
  { what: 'libc', tier: 'reboot', path: /^(usr\/)?lib\/x86_64-linux-gnu\/(libc\.so|libc-|ld-linux)/ },
  { what: 'libc', tier: 'reboot', path: /^(usr\/)?lib64\/ld-linux/ },
  { what: 'systemd (PID 1)', tier: 'reboot', path: /^(usr\/)?lib\/systemd\/(systemd$|libsystemd-shared)/ },
  { what: 'kernel package', tier: 'reboot', pkg: /^linux-(image|modules)-/ },
  { what: 'libc package', tier: 'reboot', pkg: /^libc6$/ },
  { what: 'systemd package', tier: 'reboot', pkg: /^systemd$/ },
  { what: 'bootloader configuration', tier: 'next-boot',
    path: /^(boot\/(grub2?|efi|EFI|loader|extlinux|syslinux)(\/|$)|etc\/default\/grub(\.d\/|$)|etc\/grub\.d\/|etc\/kernel\/cmdline$|(vmlinuz|initrd\.img)(\.old)?$)/ },
  { what: '/etc/fstab', tier: 'next-boot', path: /^etc\/fstab$/ },
  { what: '/etc/crypttab', tier: 'next-boot', path: /^etc\/crypttab$/ },
  { what: 'default target', tier: 'next-boot', path: /^(etc|(usr\/)?lib)\/systemd\/system\/default\.target$/ },
  // what systemd starts at boot: enablement links, masks, admin units and drop-ins
  { what: 'unit enablement', tier: 'next-boot', path: /^etc\/systemd\/system\// },
  { what: 'unit enablement', tier: 'next-boot', path: /^(usr\/)?lib\/systemd\/system\/[^/]+\.(wants|requires|upholds)\// },
  { what: 'systemd generators', tier: 'next-boot', path: /^(usr\/)?lib\/systemd\/system-generators\// },
  { what: 'kernel module configuration', tier: 'next-boot', path: /^(etc|(usr\/)?lib)\/(modprobe\.d|modules-load\.d)\/|^etc\/modules$/ },
  { what: 'boot package', tier: 'next-boot',
    pkg: /^(udev|systemd-sysv|linux-base|initramfs-tools(-core)?|dracut(-core)?|grub[-2].*|shim-.*|systemd-boot.*|cryptsetup.*)$/ },
];

export interface BootChange {
  what: string;
  tier: BootTier;
  /** The first path (map key) or `package NAME` that matched, and how many matched in all. */
  first: string;
  count: number;
}

export interface BootChanges {
  /** Every change to what boots, one per kind (the reboot rehearsal's trigger). */
  all: BootChange[];
  /** Paths of tier 'reboot' (what `--reboot auto` reboots the host for). */
  rebootPaths: string[];
}

/** What a delta (and its package changes) changes in how the host boots. */
export function bootChanges(delta: Partial<DeltaSummary> | undefined, packages?: PackageChanges): BootChanges {
  const byWhat = new Map<string, BootChange>();
  const rebootPaths: string[] = [];
  const note = (r: Rule, first: string) => {
    const c = byWhat.get(r.what);
    if (c) c.count++; else byWhat.set(r.what, { what: r.what, tier: r.tier, first, count: 1 });
  };
  const live = [...(delta?.added ?? []), ...(delta?.changed ?? [])];
  for (const [paths, removed] of [[live, false], [delta?.removed ?? [], true]] as const) {
    for (const p of paths) {
      const r = RULES.find((x) => x.path?.test(p));
      if (!r) continue;
      note(r, p);
      // a removed old kernel changes the next boot's menu, not the running system
      if (r.tier === 'reboot' && !removed) rebootPaths.push(p);
    }
  }
  const pk = packages ? [...packages.upgraded, ...packages.installed, ...packages.removed] : [];
  for (const p of pk) {
    const r = RULES.find((x) => x.pkg?.test(p.name));
    if (r) note(r, `package ${p.name}`);
  }
  const order = (c: BootChange) => (c.tier === 'reboot' ? 0 : 1);
  return { all: [...byWhat.values()].sort((a, b) => order(a) - order(b)), rebootPaths };
}

/** One phrase per change: "kernel (/boot/vmlinuz-6.12.9-amd64)", "kernel modules (3,210 changes, first /lib/...)". */
export function describeBootChanges(changes: BootChange[]): string[] {
  return changes.map((c) => `${c.what} (${c.count > 1 ? `${c.count.toLocaleString('en')} changes, first ` : ''}${c.first.startsWith('package ') ? c.first : `/${c.first}`})`);
}
