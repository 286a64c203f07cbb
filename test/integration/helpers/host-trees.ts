// dir: hosts for the VM tests: copies of the demo host tree, each with content of its own, and ways to
// compare a tree with what it should be (a hash of every entry; the map a run said it would swap in).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, utimesSync, writeFileSync } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { capture } from '../../../main/adapters/capture/capture.ts';
import { loadMap } from '../../../main/adapters/store/map-store.ts';
import { diffMaps, type MapDiff } from '../../../main/core/domain/map-diff.ts';

/** Content and metadata of every entry of a tree, in one hash. */
export async function treeHash(root: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (rel: string): Promise<void> => {
    const p = join(root, rel);
    const st = await lstat(p);
    h.update(`${rel}\0${st.mode}\0${st.uid}\0${st.gid}\0${st.size}\0${st.mtimeMs}\0`);
    if (st.isSymbolicLink()) h.update(await readlink(p));
    else if (st.isFile()) for await (const c of createReadStream(p)) h.update(c as Buffer);
    else if (st.isDirectory()) for (const n of (await readdir(p)).sort()) await walk(rel ? `${rel}/${n}` : n);
  };
  await walk('');
  return h.digest('hex');
}

const FIXED_TIME = new Date('2026-01-01T00:00:00Z');

/**
 * A copy of `tree` at `dest` whose /etc/bar-identity (and host name) are its own. The edited entries get a
 * fixed mtime, so two copies with the same name and identity are the same map content (and share the
 * cached sandbox image).
 */
export function demoHostCopy(tree: string, dest: string, name: string, identity: string): string {
  execFileSync('cp', ['-a', '--reflink=auto', tree, dest]);
  writeFileSync(join(dest, 'etc/bar-identity'), identity + '\n');
  writeFileSync(join(dest, 'etc/hostname'), name + '\n');
  for (const p of ['etc/bar-identity', 'etc/hostname', 'etc']) utimesSync(join(dest, p), FIXED_TIME, FIXED_TIME);
  return dest;
}

/** How the tree differs from map `mapId` of `store` (captured into `scratchStore`); empty = exactly that map. */
export async function treeVersusMap(tree: string, store: string, mapId: string, scratchStore: string): Promise<MapDiff> {
  const now = await capture({ target: `dir:${tree}`, store: scratchStore });
  const [want, got] = await Promise.all([loadMap(store, mapId), loadMap(scratchStore, now.map)]);
  return diffMaps(want.manifest, got.manifest);
}
