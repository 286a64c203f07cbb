// map2 from inside the sandbox, reading only what changed since the disk was built. Every file the
// sandbox started with got its ctime before the VM started (restore + mkfs on this machine); whatever
// the boot, the upgrade or the checks touched has a later ctime, and a deletion or rename bumps its
// directory's ctime. So `find / -xdev -newerct @START` lists every changed path; every directory of map1
// with nothing changed at or below it is excluded from the capture (H2's tar-over-SSH capture, the same
// code as for hosts) and its entries are taken from map1. Conservative by construction: an odd name that
// `find` cannot print cleanly only makes more directories "changed", never fewer.
import { HOST_VOLATILE_DIRS } from '../../core/domain/map-scope.ts';
import { parentKey } from '../../core/domain/map-validate.ts';
import { compareKeys } from '../../core/domain/path-key.ts';
import type { Manifest } from '../../core/domain/manifest.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { RemoteShell } from '../../core/ports/remote-shell.port.ts';
import { captureRemote } from '../capture/capture-remote.ts';
import { loadMap, saveMap } from '../store/map-store.ts';

/** Maximal unchanged directories of map1 (their parent changed, they did not), volatile ones left out. */
export function unchangedDirs(map1: Manifest, changed: Iterable<string>): string[] {
  const dirty = new Set<string>(['']);
  for (const p of changed) for (let k = p; k !== '' && !dirty.has(k); k = parentKey(k)) dirty.add(k);
  return map1.entries.filter((e) => e.type === 'dir' && e.path !== '' && !e.path.startsWith('b64:')
    && !dirty.has(e.path) && dirty.has(parentKey(e.path)) && !(e.path.split('/')[0]! in HOST_VOLATILE_DIRS)
    && !/[*?[\\]/.test(e.path)) // tar --exclude takes patterns: keep names that match only themselves
    .map((e) => e.path);
}

/** map2 = what the capture read, plus map1's entries below the directories it was told to skip. */
export function mergeUnchanged(captured: Manifest, map1: Manifest, skipped: string[]): Manifest {
  const skip = new Set(skipped);
  const under = (p: string) => { for (let k = p; k !== ''; k = parentKey(k)) if (skip.has(k)) return true; return false; };
  const entries = [...captured.entries.filter((e) => !under(e.path)), ...map1.entries.filter((e) => under(e.path))]
    .sort((a, b) => compareKeys(a.path, b.path));
  const excluded = captured.excluded.filter((x) => !(x.reason === 'operator' && skip.has(x.path)));
  return { ...captured, entries, excluded };
}

export async function captureChanged(o: {
  store: string; run: string; shell: RemoteShell; map1: Manifest; sinceEpochSec: number; signal?: AbortSignal;
}): Promise<{ map: string; changedPaths: number; skippedDirs: number; skipped: string[] }> {
  const list = await o.shell.run(`find / -xdev -newerct @${Math.floor(o.sinceEpochSec)} -printf '%P\\n'`,
    { signal: o.signal, timeoutMs: 10 * 60_000 });
  if (list.exitCode !== 0) throw new UnderstudyError('remote-command', `listing changed files in the sandbox failed: ${list.stderr.trim()}`);
  const changed = list.stdout.split('\n').map((l) => l.replace(/\r$/, '')).filter(Boolean);
  const skipped = unchangedDirs(o.map1, changed);
  const cap = await captureRemote({ store: o.store, target: `sandbox:${o.run}`, shell: o.shell, sudo: false, excludes: skipped, signal: o.signal });
  const captured = (await loadMap(o.store, cap.map)).manifest;
  const map = await saveMap(o.store, mergeUnchanged(captured, o.map1, skipped));
  return { map, changedPaths: changed.length, skippedDirs: skipped.length, skipped };
}
