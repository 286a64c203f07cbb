// map2 as the swap must see it: what the sandbox captured, except every sandbox-only path (see
// adapters/sandbox/sandbox-edits.ts: injected key, fstab, machine-id, logs ...) and everything map2's
// capture excluded, which keep map1's version. Differences that are artefacts of the disk round trip
// (mtime truncated to whole seconds, a sparse file stored dense) keep map1's entry too. So the swap's
// delta (map1 -> this) is exactly the upgrade's effect, and sandbox edits never reach the host.
import type { Entry, Manifest } from '../../core/domain/manifest.ts';
import { compareKeys } from '../../core/domain/path-key.ts';
import { isSandboxOnly } from '../../adapters/sandbox/sandbox-edits.ts';
import { sameLogicalContent, sameUpToDiskPrecision } from '../../adapters/sandbox/logical-content.ts';
import { packageOwnedDirs } from './package-owned-dirs.ts';

function under(key: string, prefixes: string[]): boolean {
  return prefixes.some((p) => key === p || key.startsWith(p + '/'));
}

async function withoutRoundTripNoise(store: string, old: Entry | undefined, e: Entry): Promise<Entry> {
  if (!old) return e;
  let x = old.mtimeNs !== e.mtimeNs && sameUpToDiskPrecision(old.mtimeNs, e.mtimeNs) ? { ...e, mtimeNs: old.mtimeNs } : e;
  if (x.type === 'file' && old.type === 'file' && (x.sparse || old.sparse) && x.sha256 !== old.sha256
    && await sameLogicalContent(store, old, x)) {
    x = { ...x, sha256: old.sha256 };
    if (old.sparse) x.sparse = old.sparse; else delete x.sparse;
  }
  return x;
}

export async function effectiveMap2(store: string, map1: Manifest, map2: Manifest): Promise<Manifest> {
  const skipped = map2.excluded.map((x) => x.path).filter((p) => p !== '');
  // a directory a package ships there (nginx's /var/log/nginx) is the upgrade's, not sandbox runtime state
  const shipped = await packageOwnedDirs(store, map1, map2, isSandboxOnly);
  const foreign = (k: string) => (isSandboxOnly(k) && !shipped.has(k)) || under(k, skipped);
  const before = new Map(map1.entries.map((e) => [e.path, e]));
  const byPath = new Map<string, Entry>();
  for (const e of map2.entries) if (!foreign(e.path)) byPath.set(e.path, await withoutRoundTripNoise(store, before.get(e.path), e));
  for (const e of map1.entries) if (foreign(e.path)) byPath.set(e.path, e);
  // A hardlink whose group leader was dropped would dangle: keep map1's version of the member instead.
  for (const [k, e] of byPath) {
    if (e.type === 'hardlink' && e.linkTo !== undefined && !byPath.has(e.linkTo)) {
      const old = before.get(k);
      if (old) byPath.set(k, old); else byPath.delete(k);
    }
  }
  return {
    ...map2,
    target: map1.target,
    host: map1.host,
    entries: [...byPath.values()].sort((a, b) => compareKeys(a.path, b.path)),
    excluded: map1.excluded,
    filesystems: map1.filesystems,
    unstable: map2.unstable.filter((k) => !foreign(k)),
  };
}
