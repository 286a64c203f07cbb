// The second half of the checkout path (a map whose names a debugfs script cannot carry: CR/LF): after
// `mkfs.ext4 -d` of the checkout tree, one debugfs run adds to the image what the tree does not hold,
// so that the path needs no privileges (root only saves the mknod step):
//   - every xattr (security.capability, ACLs, user.*), written on the inode by number (`<ino>`), so
//     the path's own bytes never go into the script;
//   - device nodes, when not root (mknod needs CAP_MKNOD): made by name in their directory, reached by
//     its inode number; their own name must be scriptable, which devicesNeedingRoot() checks first;
//   - owner 0:0 for what the sandbox edits created in the tree (mkfs copies the tree's owner, which is
//     the builder's; debugfs and the map's stamping give everything else its owner).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Entry, Manifest } from '../../core/domain/manifest.ts';
import { displayKey } from '../../core/domain/path-key.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { latin1, local, parentOf, q, startDebugfs } from './debugfs-populate.ts';
import { inodesByPath } from './ext4-stamp.ts';
import { Ext4Image } from './ext4-image.ts';
import type { EditPlan } from './sandbox-edits.ts';

const isDevice = (e: Entry): boolean => e.type === 'chardev' || e.type === 'blockdev';
const ownName = (e: Entry): string => { const l = latin1(e.path); return l.slice(l.lastIndexOf('/') + 1); };

/** The device nodes debugfs cannot make (a line break in their own name, or a number above 65535). */
export function devicesNeedingRoot(m: Manifest): string[] {
  return m.entries.filter((e) => isDevice(e) && (/[\r\n]/.test(ownName(e)) || e.rdevMajor! > 65535 || e.rdevMinor! > 65535))
    .map((e) => JSON.stringify('/' + displayKey(e.path))); // quoted: the line break shows as \\n
}

/** Completes the image `img` that mkfs built from the checkout of `m`; `makeDevices` when the tree has none. */
export async function finishCheckoutImage(img: string, m: Manifest, edits: EditPlan, scratch: string, makeDevices: boolean,
  signal?: AbortSignal): Promise<void> {
  const image = new Ext4Image(img);
  let inodes: Map<string, number>;
  try { inodes = inodesByPath(image); } finally { image.close(); }
  const ino = (key: string): string => {
    const n = key === '' ? 2 : inodes.get(latin1(key));
    if (n === undefined) throw new UnderstudyError('usage', `disk image: ${JSON.stringify('/' + displayKey(key))} is missing from the image mkfs built`);
    return `<${n}>`;
  };
  const lines: string[] = [];
  let n = 0;
  const valueFile = async (value: string) => {
    const f = join(scratch, `xattr-${n++}`);
    await writeFile(f, Buffer.from(value, 'base64'));
    return local(f);
  };
  for (const e of m.entries) {
    if (edits.touched.has(e.path)) continue; // removed or replaced in the tree (as by the debugfs path)
    const xattrs = e.type === 'hardlink' ? [] : Object.entries(e.xattrs ?? {});
    if (makeDevices && isDevice(e)) {
      // A new inode: named relative to its directory, so its number need not be known.
      const name = q(ownName(e));
      lines.push(`cd ${ino(parentOf(e.path))}`, `mknod ${name} ${e.type === 'chardev' ? 'c' : 'b'} ${e.rdevMajor} ${e.rdevMinor}`);
      for (const [x, value] of xattrs) lines.push(`ea_set -f ${await valueFile(value)} ${name} ${q(x)}`);
      continue;
    }
    for (const [x, value] of xattrs) lines.push(`ea_set -f ${await valueFile(value)} ${ino(e.path)} ${q(x)}`);
  }
  const inMap = new Set(m.entries.map((e) => e.path));
  for (const key of [...edits.mkdirs, ...edits.ops.filter((o) => o.op !== 'remove').map((o) => o.key)]) {
    if (!inMap.has(key)) lines.push(`sif ${ino(key)} uid 0`, `sif ${ino(key)} gid 0`);
  }
  if (!lines.length) return;
  const debugfs = startDebugfs(img, signal);
  for (const l of lines) await debugfs.send(l);
  await debugfs.finish();
}
