// The tree `mkfs.ext4 -d` builds the sandbox disk from, for the maps a debugfs script cannot carry
// (checkout-finish.ts, which also says what the tree leaves out). Instead of copying every file out
// of the store, a file whose content is used by no other path of the map is a hardlink to its store
// object: mkfs reads the bytes from there, and ext4-stamp.ts then replaces the object's metadata in
// the image with the map's. Everything that must not share an inode is a real copy:
//   - a second path with the same content (mkfs turns one source inode into one image inode, so two
//     links to one object would become a hardlink group the map does not have);
//   - sparse files (the object holds only the data extents); empty files are simply created.
// Nothing here needs privileges except device nodes (mknod), made only when `deviceNodes` is set;
// xattrs are never set on the tree (security.capability and trusted.* need root, and a tmpfs may take
// no user.* at all): debugfs writes them into the image afterwards.
// Store objects are only ever linked to and read, never opened for writing or re-stamped; the sandbox
// edits replace files by unlink + create (sandbox-edits.ts), so nothing writes through a link.
import { constants, linkSync, mkdirSync, openSync, closeSync, symlinkSync } from 'node:fs';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import type { Entry, Manifest } from '../../core/domain/manifest.ts';
import { validateManifest } from '../../core/domain/map-validate.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { bytesFromKey, displayKey } from '../../core/domain/path-key.ts';
import { objectPath } from '../store/store-paths.ts';
import { writeEntryContent } from '../restore/restore-map.ts';
import { makeSpecialNodes } from '../restore/restore-tools.ts';

export interface TreeStats { linked: number; copied: number; entries: number }

const missing = (e: Entry): UnderstudyError =>
  new UnderstudyError('store-corrupt', `object ${e.sha256} of /${displayKey(e.path)} is missing from the store; run 'understudy verify'`);

/** Four copies at a time, on the thread pool. */
function copyAll(store: string, files: Entry[], at: (e: Entry) => Buffer): Promise<unknown> {
  const queue = [...files];
  return Promise.all(Array.from({ length: 4 }, async () => {
    for (let e = queue.shift(); e; e = queue.shift()) {
      const file = e;
      await writeEntryContent(store, file, at(file)).catch((err: NodeJS.ErrnoException) => { throw err.code === 'ENOENT' ? missing(file) : err; });
    }
  }));
}

/**
 * Symlinks, empty files and links to store objects, in this thread (sync calls: a link is far cheaper
 * than a promise round trip). Returns the files that could not be linked (store on another filesystem).
 */
async function linkFiles(store: string, entries: readonly Entry[], at: (e: Entry) => Buffer, mustCopy: (e: Entry) => boolean,
  stats: TreeStats): Promise<Entry[]> {
  const unlinkable: Entry[] = [];
  let n = 0;
  for (const e of entries) {
    if (++n % 2048 === 0) await yieldLoop(); // keeps the event loop (progress, cancel, copies) going
    if (e.type === 'symlink') symlinkSync(Buffer.from(bytesFromKey(e.target!)), at(e));
    if (e.type !== 'file' || mustCopy(e)) continue;
    if (e.size === 0) { closeSync(openSync(at(e), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)); continue; }
    if (unlinkable.length) { unlinkable.push(e); continue; }
    try {
      linkSync(objectPath(store, e.sha256!), at(e));
      stats.linked++;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw missing(e);
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw err;
      unlinkable.push(e); // the store is on another filesystem (or refuses links): copies from here on
    }
  }
  return unlinkable;
}

/** Checks `manifest` out into `tree` (must not exist) for mkfs: no xattrs, device nodes only if `deviceNodes`. */
export async function checkoutImageTree(store: string, manifest: Manifest, tree: string, deviceNodes: boolean): Promise<TreeStats> {
  validateManifest(manifest);
  const entries = manifest.entries;
  const abs = new Map<Entry, Buffer>();
  for (const e of entries) abs.set(e, e.path === '' ? Buffer.from(tree) : Buffer.concat([Buffer.from(tree + '/'), Buffer.from(bytesFromKey(e.path))]));
  const at = (e: Entry) => abs.get(e)!;
  // Parents sort before their children in byte order.
  const dirs = entries.filter((e) => e.type === 'dir').sort((a, b) => Buffer.compare(at(a), at(b)));
  for (const e of dirs) mkdirSync(at(e), { mode: 0o700 });

  const contentUses = new Map<string, number>();
  for (const e of entries) if (e.type === 'file') contentUses.set(e.sha256!, (contentUses.get(e.sha256!) ?? 0) + 1);
  const mustCopy = (e: Entry) => e.size > 0 && (!!e.sparse || contentUses.get(e.sha256!)! > 1);
  const copies = entries.filter((e) => e.type === 'file' && mustCopy(e));
  const stats: TreeStats = { linked: 0, copied: copies.length, entries: entries.length };
  const copying = copyAll(store, copies, at);
  let unlinkable: Entry[];
  try {
    unlinkable = await linkFiles(store, entries, at, mustCopy, stats);
  } finally {
    await copying.catch(() => undefined); // never left running behind an error
  }
  await copying;
  await copyAll(store, unlinkable, at);
  stats.copied += unlinkable.length;
  const byPath = new Map(entries.map((e) => [e.path, e]));
  for (const e of entries) if (e.type === 'hardlink') linkSync(at(byPath.get(e.linkTo!)!), at(e));
  const nodes = entries.filter((x) => x.type === 'fifo' || (deviceNodes && (x.type === 'chardev' || x.type === 'blockdev')));
  const missing = await makeSpecialNodes(tree, nodes);
  if (missing.length) throw new Error(`could not create ${missing.length} special node(s), first /${displayKey(missing[0]!.path)}`);
  return stats;
}
