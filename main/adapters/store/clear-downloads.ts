// `understudy maps --clear-downloads`: forgets the download cache and deletes its objects, except those a
// map also uses (a package file can be both a download and a file some host has).
import { rm } from 'node:fs/promises';
import { listMapIds, loadMap } from './map-store.ts';
import { objectPath } from './store-paths.ts';
import { dropDownloadIndex } from './download-index.ts';

export async function clearDownloads(store: string): Promise<{ files: number; bytes: number; keptForMaps: number }> {
  const used = new Set<string>();
  for (const id of await listMapIds(store)) {
    const m = (await loadMap(store, id)).manifest;
    for (const e of m.entries) if (e.type === 'file' && e.sha256) used.add(e.sha256);
  }
  const dropped = new Map((await dropDownloadIndex(store)).map((e) => [e.sha256, e.size]));
  let files = 0, bytes = 0, keptForMaps = 0;
  for (const [sha, size] of dropped) {
    if (used.has(sha)) { keptForMaps++; continue; }
    await rm(objectPath(store, sha), { force: true });
    files++;
    bytes += size;
  }
  return { files, bytes, keptForMaps };
}
