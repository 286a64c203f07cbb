// What every capture kind shares: options, result, progress metering, saving map + stat index.
import type { Manifest } from '../../core/domain/manifest.ts';
import type { Progress } from '../../core/domain/events.ts';
import { saveMapAndStatIndex, type StatIndex } from '../store/map-store.ts';

export interface CaptureOptions {
  store: string;
  /** Canonical target string recorded in the map ('dir:/abs', 'local', 'ssh://user@host:22'). */
  target: string;
  excludes?: string[];
  signal?: AbortSignal;
  /** The target's previous map with its stat index (incremental capture). */
  previous?: { id: string; manifest?: Manifest; index: StatIndex };
  onProgress?(p: Progress): void;
  onStage?(step: string): void;
}

export interface CaptureResult {
  map: string;
  /** The content id: the hash of the entries alone (identical trees share it; map-store.ts contentIdOf). */
  content: string;
  files: number;
  bytes: number;
  /** Content bytes read from the target (0 for an unchanged re-capture). */
  bytesRead: number;
  /** New content bytes written to the store. */
  bytesStored: number;
  seconds: number;
  excluded: number;
  unstable: string[];
}

export interface Meter {
  add(n: number): void;
  stored(n: number): void;
  read: number;
  storedBytes: number;
}

export function makeMeter(opts: CaptureOptions, total: number): Meter {
  const t0 = Date.now();
  let last = 0;
  const m: Meter = {
    read: 0,
    storedBytes: 0,
    add(n) {
      m.read += n;
      const now = Date.now();
      if (now - last < 250 || !opts.onProgress) return;
      last = now;
      const rate = m.read / Math.max(0.001, (now - t0) / 1000);
      opts.onProgress({ stage: 'capture', step: 'content', current: m.read, total: Math.max(total, m.read), bytesPerSec: Math.round(rate),
        etaSec: rate > 0 ? Math.max(0, Math.round((total - m.read) / rate)) : undefined });
    },
    stored(n) { m.storedBytes += n; },
  };
  return m;
}

/** `index`: the new stat index as [path, value] pairs (pulled while it is written). */
export async function finishCapture(
  opts: CaptureOptions, manifest: Manifest, index: Iterable<readonly [string, string]>, meter: Meter, started: number,
): Promise<CaptureResult> {
  const { id: map, content } = await saveMapAndStatIndex(opts.store, manifest, opts.target, index);
  let files = 0, bytes = 0;
  for (const e of manifest.entries) if (e.type === 'file') { files++; bytes += e.size; }
  return {
    map, content, files, bytes, bytesRead: meter.read, bytesStored: meter.storedBytes, seconds: (Date.now() - started) / 1000,
    excluded: manifest.excluded.length, unstable: manifest.unstable,
  };
}
