// The sandbox's root filesystem carries the host's root filesystem UUID. An upgrade that installs a kernel
// runs update-grub (and update-initramfs) inside the sandbox; grub-mkconfig writes the UUID of the disk it
// runs on into every `linux ... root=UUID=` and `search --fs-uuid` line. On a sandbox disk of its own UUID
// that config would send the host, after the swap, looking for a disk it does not have. With the host's
// UUID it names the host's root, as the same upgrade run on the host would.
// Where the UUID comes from: map1's /etc/fstab line for '/', else the root= of the entry GRUB boots next.
import type { Entry, Manifest } from '../../core/domain/manifest.ts';
import { grubDefault, parseGrubEnv, parseGrubMenu } from '../../core/domain/grub-menu.ts';
import { mapFileText } from '../store/map-file-text.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The UUID of the fstab line that mounts '/', when it names one. Pure. */
export function rootUuidOfFstab(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const f = line.replace(/#.*/, '').trim().split(/\s+/);
    if (f[1] !== '/' || !f[0]) continue;
    const m = /^UUID=(.+)$/i.exec(f[0]);
    return m && UUID.test(m[1]!) ? m[1]!.toLowerCase() : undefined;
  }
  return undefined;
}

/** root=UUID=... of GRUB's next entry. Pure. */
export function rootUuidOfGrub(cfg: string, env = ''): string | undefined {
  const d = grubDefault(parseGrubMenu(cfg), parseGrubEnv(env));
  const root = d?.entry?.args.find((a) => a.startsWith('root=UUID='))?.slice('root=UUID='.length);
  return root && UUID.test(root) ? root.toLowerCase() : undefined;
}

export async function hostRootUuid(store: string, m: Manifest): Promise<string | undefined> {
  const byPath = new Map<string, Entry>(m.entries.map((e) => [e.path, e]));
  const text = (key: string) => mapFileText(store, byPath, key);
  const fstab = await text('etc/fstab');
  const fromFstab = fstab ? rootUuidOfFstab(fstab) : undefined;
  if (fromFstab) return fromFstab;
  const cfg = await text('boot/grub/grub.cfg') ?? await text('boot/grub2/grub.cfg');
  return cfg ? rootUuidOfGrub(cfg, await text('boot/grub/grubenv') ?? '') : undefined;
}
