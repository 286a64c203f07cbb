// map2 as the swap must see it: what the sandbox captured, except every sandbox-only path (see
// adapters/sandbox/sandbox-edits.ts: injected key, fstab, machine-id, logs ...) and everything map2's
// capture excluded, which keep map1's version. So the swap's delta (map1 -> this) is exactly the
// upgrade's effect and sandbox edits can never reach the host.
import type { Entry, Manifest } from '../../core/domain/manifest.ts';
import { compareKeys } from '../../core/domain/path-key.ts';
import { isSandboxOnly } from '../../adapters/sandbox/sandbox-edits.ts';

function under(key: string, prefixes: string[]): boolean {
  return prefixes.some((p) => p === '' ? true : key === p || key.startsWith(p + '/'));
}

export function effectiveMap2(map1: Manifest, map2: Manifest): Manifest {
  const skipped = map2.excluded.map((x) => x.path).filter((p) => p !== '');
  const foreign = (k: string) => isSandboxOnly(k) || under(k, skipped);
  const byPath = new Map<string, Entry>();
  for (const e of map2.entries) if (!foreign(e.path)) byPath.set(e.path, e);
  for (const e of map1.entries) if (foreign(e.path)) byPath.set(e.path, e);
  // A hardlink whose group leader was dropped would dangle: keep map1's version of the member instead.
  for (const [k, e] of byPath) {
    if (e.type === 'hardlink' && e.linkTo !== undefined && !byPath.has(e.linkTo)) {
      const old = map1.entries.find((x) => x.path === k);
      if (old) byPath.set(k, old); else byPath.delete(k);
    }
  }
  const entries = [...byPath.values()].sort((a, b) => compareKeys(a.path, b.path));
  return {
    ...map2,
    target: map1.target,
    host: map1.host,
    entries,
    excluded: map1.excluded,
    filesystems: map1.filesystems,
    unstable: map2.unstable.filter((k) => !foreign(k)),
  };
}
