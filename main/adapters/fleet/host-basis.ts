// Reads what an upgrade of packages depends on from a map's own store objects (nothing on the host is
// asked again): the OS release, the package set (dpkg's status file, or the content of rpm's database)
// and the package managers' configuration; core/domain/fleet-groups.ts groups hosts by it.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Entry, Manifest } from '../../core/domain/manifest.ts';
import type { FleetMember, HostBasis } from '../../core/domain/fleet-groups.ts';
import {
  DPKG_STATUS, OS_RELEASE_PATHS, RPM_DB_DIRS, entryFingerprint, isInstalled, isPackageConfig, isUnderAny, osReleaseKey, osReleaseLabel,
  packageSetText, parseDpkgStatus, parseOsRelease,
} from '../../core/domain/package-db.ts';
import { bytesFromKey, keyFromBytes } from '../../core/domain/path-key.ts';
import { contentIdOf, loadMap } from '../store/map-store.ts';
import { objectPath } from '../store/store-paths.ts';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
/** Larger than any real dpkg status file (a desktop's is ~3 MB). */
const MAX_DB_BYTES = 256 << 20;

/** The entry a path names in the map, following symlinks (absolute or relative) inside the map. */
function resolveInMap(byPath: ReadonlyMap<string, Entry>, path: string): Entry | undefined {
  let p = path;
  for (let hops = 0; hops < 16; hops++) {
    const e = byPath.get(p);
    if (!e) return undefined;
    if (e.type === 'hardlink') return e.linkTo ? byPath.get(e.linkTo) : undefined;
    if (e.type !== 'symlink') return e;
    // names as latin1 strings: one character per byte, so any name survives the split and join
    const latin1 = (key: string) => Buffer.from(bytesFromKey(key)).toString('latin1');
    const target = latin1(e.target ?? '');
    const base = target.startsWith('/') ? [] : latin1(p).split('/').slice(0, -1);
    for (const part of target.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') base.pop(); else base.push(part);
    }
    p = keyFromBytes(Buffer.from(base.join('/'), 'latin1'));
  }
  return undefined;
}

/** A small regular file's bytes from the store, or undefined (absent, not a file, sparse, too big). */
async function fileText(store: string, byPath: ReadonlyMap<string, Entry>, path: string): Promise<string | undefined> {
  const e = resolveInMap(byPath, path);
  if (e?.type !== 'file' || !e.sha256 || e.sparse || e.size > MAX_DB_BYTES) return undefined;
  return (await readFile(objectPath(store, e.sha256))).toString('utf8');
}

/** The host's basis for grouping, or null when the map holds no package database we can read. */
export async function hostBasis(store: string, manifest: Pick<Manifest, 'entries'>): Promise<HostBasis | null> {
  const byPath = new Map(manifest.entries.map((e) => [e.path, e]));
  let osText: string | undefined;
  for (const p of OS_RELEASE_PATHS) if ((osText = await fileText(store, byPath, p)) !== undefined) break;
  const os = parseOsRelease(osText ?? '');
  const config = sha256(manifest.entries.filter((e) => isPackageConfig(e.path)).map(entryFingerprint).join(''));
  const release = osReleaseLabel(os);

  const status = await fileText(store, byPath, DPKG_STATUS);
  if (status !== undefined) {
    const packages = parseDpkgStatus(status);
    return { os: osReleaseKey(os), packages: sha256(packageSetText(packages)), config,
      label: `${release}, ${packages.filter(isInstalled).length} packages (dpkg)` };
  }
  const rpm = manifest.entries.filter((e) => isUnderAny(e.path, RPM_DB_DIRS) && e.type !== 'dir');
  if (rpm.length) return { os: osReleaseKey(os), packages: sha256(rpm.map(entryFingerprint).join('')), config, label: `${release}, rpm database` };
  return null;
}

/** What grouping needs of one host: its map1's content id and basis, and its plan. */
export async function fleetMember(store: string, target: string, map1: string, plan: { command: string; checks: string[] }): Promise<FleetMember> {
  const { manifest } = await loadMap(store, map1);
  return { target, content: contentIdOf(manifest), basis: await hostBasis(store, manifest), plan: JSON.stringify([plan.command, plan.checks]) };
}
