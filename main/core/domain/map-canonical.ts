// Canonical encoding of a manifest: keys sorted, no whitespace, entries in path-key byte order. The map
// id is the sha256 of exactly these bytes, so the same tree always yields the same id.
import { compareKeys } from './path-key.ts';
import type { Manifest } from './manifest.ts';

function sortValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortValue);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortValue(x);
    }
    return out;
  }
  return v;
}

export function canonicalManifest(m: Manifest): string {
  const entries = [...m.entries].sort((a, b) => compareKeys(a.path, b.path));
  const excluded = [...m.excluded].sort((a, b) => compareKeys(a.path, b.path) || a.reason.localeCompare(b.reason));
  const unstable = [...m.unstable].sort(compareKeys);
  return JSON.stringify(sortValue({ ...m, entries, excluded, unstable }));
}
