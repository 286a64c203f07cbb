// A small text file of a map (fstab, grub.cfg, grubenv ...) read from the store, following symlinks inside
// the map (never out of it). undefined when the map has no such regular file, or it is sparse or large.
import { readFile } from 'node:fs/promises';
import type { Entry } from '../../core/domain/manifest.ts';
import { resolveMapFile } from '../../core/domain/map-resolve.ts';
import { objectPath } from './store-paths.ts';

const MAX_BYTES = 4 << 20;

export async function mapFileText(store: string, byPath: ReadonlyMap<string, Entry>, key: string): Promise<string | undefined> {
  const k = resolveMapFile(byPath, key);
  const e = k ? byPath.get(k) : undefined;
  if (!e?.sha256 || e.sparse || e.size > MAX_BYTES) return undefined;
  return readFile(objectPath(store, e.sha256), 'utf8').catch(() => undefined);
}
