// Which kernel and initrd boot the sandbox: --kernel/--initrd when given, else the newest
// /boot/vmlinuz-VERSION of the map that has a matching /boot/initrd.img-VERSION.
import { existsSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import type { Entry, Manifest } from '../../core/domain/manifest.ts';
import { join } from 'node:path';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { compareVersions } from './tiny-guest.ts';

export interface BootFiles { kernel: string; initrd?: string; version?: string }

export async function selectKernel(tree: string, mapId: string, override?: { kernel?: string; initrd?: string }): Promise<BootFiles> {
  if (override?.kernel) {
    for (const f of [override.kernel, override.initrd]) {
      if (f && !existsSync(f)) throw new UnderstudyError('usage', `--kernel/--initrd: ${f} does not exist`);
    }
    return { kernel: override.kernel, initrd: override.initrd };
  }
  if (override?.initrd) throw new UnderstudyError('usage', '--initrd needs --kernel');
  const boot = join(tree, 'boot');
  const names = await readdir(boot).catch(() => [] as string[]);
  const v = pickKernel(names, mapId);
  for (const f of [`vmlinuz-${v}`, `initrd.img-${v}`]) {
    // A symlink in the map must not make us read a file of this machine.
    if (!(await lstat(join(boot, f))).isFile()) throw new UnderstudyError('no-kernel', `map ${mapId.slice(0, 12)}: /boot/${f} is not a regular file`);
  }
  return { kernel: join(boot, `vmlinuz-${v}`), initrd: join(boot, `initrd.img-${v}`), version: v };
}

/** The map's own check, before anything is restored: fails early with 'no-kernel'. */
export function checkMapBootable(m: Manifest, mapId: string): string {
  return pickKernel(m.entries.filter((e) => e.type === 'file' && /^boot\/[^/]+$/.test(e.path)).map((e) => e.path.slice(5)), mapId);
}

/** The map's own entries of the kernel and initrd the sandbox boots (regular files, never symlinks). */
export function bootEntries(m: Manifest, mapId: string): { kernel: Entry; initrd: Entry; version: string } {
  const v = checkMapBootable(m, mapId);
  const find = (key: string) => m.entries.find((e) => e.path === key && e.type === 'file')!;
  return { kernel: find(`boot/vmlinuz-${v}`), initrd: find(`boot/initrd.img-${v}`), version: v };
}

/** Newest VERSION with both vmlinuz-VERSION and initrd.img-VERSION among /boot's names. */
export function pickKernel(names: string[], mapId: string): string {
  const kernels = names.filter((n) => n.startsWith('vmlinuz-')).map((n) => n.slice(8)).sort(compareVersions);
  const bootable = kernels.filter((v) => names.includes(`initrd.img-${v}`));
  const v = bootable.pop();
  if (!v) {
    const what = kernels.length === 0
      ? 'no /boot/vmlinuz-* kernel'
      : `kernel(s) ${kernels.map((k) => `/boot/vmlinuz-${k}`).join(', ')} but no matching /boot/initrd.img-VERSION`;
    throw new UnderstudyError('no-kernel', `map ${mapId.slice(0, 12)} has ${what}: the sandbox cannot boot it; ` +
      'pass --kernel FILE --initrd FILE to boot it with another kernel', { missing: kernels.length ? 'initrd' : 'kernel' });
  }
  return v;
}
