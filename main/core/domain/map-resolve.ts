// Following symlinks inside a map, never outside it: '/boot/vmlinuz' -> 'boot/vmlinuz-6.1.0-9-amd64'.
// An absolute target is taken from the map's root (it is the host's root, not this machine's). Pure.
import type { Entry } from './manifest.ts';

const MAX_HOPS = 40;

/** The key of the regular file `key` ends at (a hardlink's group leader for a hardlink), or undefined. */
export function resolveMapFile(byPath: ReadonlyMap<string, Entry>, key: string): string | undefined {
  return walk(byPath, key.split('/'), 0);
}

function walk(byPath: ReadonlyMap<string, Entry>, parts: string[], hops: number): string | undefined {
  const cur: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p === '' || p === '.') continue;
    if (p === '..') { cur.pop(); continue; }
    cur.push(p);
    const e = byPath.get(cur.join('/'));
    if (!e) return undefined;
    if (e.type === 'symlink' && e.target !== undefined && !e.target.startsWith('b64:')) {
      if (hops >= MAX_HOPS) return undefined;
      const base = e.target.startsWith('/') ? [] : cur.slice(0, -1);
      return walk(byPath, [...base, ...e.target.split('/'), ...parts.slice(i + 1)], hops + 1);
    }
  }
  const e = byPath.get(cur.join('/'));
  if (e?.type === 'file') return e.path;
  if (e?.type === 'hardlink' && e.linkTo && byPath.get(e.linkTo)?.type === 'file') return e.linkTo;
  return undefined;
}
