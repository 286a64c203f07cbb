// What killed understudy processes left on this machine: sandbox temp dirs (overlay, seed disk), QEMU
// control dirs, accelerator probe dirs and half-built sandbox images. Each is marked with its owner when made
// (adapters/local/process-owner.ts); the next start removes those whose owner is gone (killed, or the
// machine restarted), and never what a live understudy process holds.
import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownerFileStale } from '../../adapters/local/process-owner.ts';
import { imageCacheRoot } from '../../adapters/sandbox/disk-build.ts';

const PLACES = (): Array<[string, string[]]> => [
  [tmpdir(), ['understudy-sandbox-', 'understudy-qemu-', 'understudy-member-run-', 'understudy-accel-probe-']],
  [imageCacheRoot(), ['.sandbox-']],
];

/** Removes stale leftovers; returns their paths. */
export function removeStaleFiles(): string[] {
  const removed: string[] = [];
  for (const [root, prefixes] of PLACES()) {
    let names: string[];
    try { names = readdirSync(root); } catch { continue; }
    for (const n of names) {
      const p = join(root, n);
      if (!prefixes.some((x) => n.startsWith(x)) || !ownerFileStale(p)) continue;
      try { rmSync(p, { recursive: true, force: true }); removed.push(p); } catch { /* another start removes it */ }
    }
  }
  return removed;
}
