// Directories that packages the upgrade installed (or changed) ship in places otherwise treated as the
// sandbox's own runtime state: nginx-common ships /var/log/nginx, and without it nginx does not start on
// the host. dpkg's file lists (var/lib/dpkg/info/PKG.list, new or changed in map2) say which they are; only
// directories are taken (the files below them are still the sandbox's own logs and state).
import { readFile } from 'node:fs/promises';
import type { Entry, Manifest } from '../../core/domain/manifest.ts';
import { objectPath } from '../../adapters/store/store-paths.ts';

const LIST = /^var\/lib\/dpkg\/info\/[^/]+\.list$/;

export async function packageOwnedDirs(store: string, map1: Manifest, map2: Manifest, within: (key: string) => boolean): Promise<Set<string>> {
  const before = new Map<string, Entry>();
  for (const e of map1.entries) if (LIST.test(e.path)) before.set(e.path, e);
  const dirs = new Map<string, Entry>();
  for (const e of map2.entries) if (e.type === 'dir' && within(e.path)) dirs.set(e.path, e);
  const out = new Set<string>();
  if (dirs.size === 0) return out;
  for (const e of map2.entries) {
    if (!LIST.test(e.path) || e.type !== 'file' || !e.sha256 || before.get(e.path)?.sha256 === e.sha256) continue;
    const text = await readFile(objectPath(store, e.sha256), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      const key = line.replace(/^\/+/, '').replace(/\/+$/, '');
      if (dirs.has(key)) out.add(key);
    }
  }
  return out;
}
