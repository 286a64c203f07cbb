// Canonical encoding of a manifest: keys sorted, no whitespace, entries in path-key byte order. The map
// id is the sha256 of exactly these bytes, so the same tree always yields the same id.
import { bytesFromKey, compareKeys } from './path-key.ts';
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

function compareBytes(x: Uint8Array, y: Uint8Array): number {
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

export function canonicalManifest(m: Manifest): string {
  // decode each key once: comparing through compareKeys re-encodes both keys on every comparison
  const entries = m.entries.map((e) => ({ e, k: bytesFromKey(e.path) })).sort((a, b) => compareBytes(a.k, b.k)).map((x) => x.e);
  const excluded = [...m.excluded].sort((a, b) => compareKeys(a.path, b.path) || a.reason.localeCompare(b.reason));
  const unstable = [...m.unstable].sort(compareKeys);
  return JSON.stringify(sortValue({ ...m, entries, excluded, unstable }));
}
