// What an upgrade of packages depends on, read from a map's own files (pure parsing; the adapter reads
// the bytes from the store): the OS release (/etc/os-release, else /usr/lib/os-release), the installed
// package set from dpkg's database, and the package manager's configuration paths.
import type { Entry } from './manifest.ts';

/** os-release(5): KEY=value lines, values optionally quoted ("..." with \-escapes, or '...'). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*?)\s*$/.exec(raw);
    if (!m) continue;
    let v = m[2]!;
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1).replace(/\\(["\\`$])/g, '$1');
    else if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) v = v.slice(1, -1);
    out[m[1]!] = v;
  }
  return out;
}

/** The fields of os-release that name a release, as one canonical line ('' when none is set). */
export function osReleaseKey(fields: Record<string, string>): string {
  return ['ID', 'ID_LIKE', 'VERSION_ID', 'VERSION_CODENAME', 'VARIANT_ID', 'BUILD_ID']
    .filter((k) => fields[k] !== undefined).map((k) => `${k}=${fields[k]}`).join(' ');
}

/** A human name for the release: PRETTY_NAME, else ID VERSION_ID. */
export function osReleaseLabel(fields: Record<string, string>): string {
  return fields.PRETTY_NAME ?? ([fields.ID, fields.VERSION_ID].filter(Boolean).join(' ') || 'unknown OS');
}

export interface DpkgPackage { name: string; version: string; architecture: string; status: string }

/**
 * The package set in /var/lib/dpkg/status: for every stanza only Package, Version, Architecture and
 * Status; everything else (descriptions, sizes, conffile hashes, Config-Version ...) is left out, so what
 * may vary per host does not split a group. Sorted by name and architecture.
 */
export function parseDpkgStatus(text: string): DpkgPackage[] {
  const out: DpkgPackage[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'mi').exec(stanza)?.[1]?.trim();
    const name = field('Package');
    if (!name) continue;
    out.push({ name, version: field('Version') ?? '', architecture: field('Architecture') ?? '', status: field('Status') ?? '' });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.architecture < b.architecture ? -1 : a.architecture > b.architecture ? 1 : 0));
}

/** One line per package: the canonical text of a package set (hashed into a group key). */
export function packageSetText(packages: DpkgPackage[]): string {
  return packages.map((p) => `${p.name}:${p.architecture}\t${p.version}\t${p.status}\n`).join('');
}

/** Installed, in the sense an upgrade cares about (Status '... installed'). */
export const isInstalled = (p: DpkgPackage): boolean => / installed$/.test(p.status);

export const DPKG_STATUS = 'var/lib/dpkg/status';
export const OS_RELEASE_PATHS = ['etc/os-release', 'usr/lib/os-release'];
/** rpm keeps its database in binary files: their content hashes stand for the package set. */
export const RPM_DB_DIRS = ['var/lib/rpm', 'usr/lib/sysimage/rpm'];

/**
 * Where the package managers keep the configuration that decides what an upgrade installs: sources,
 * pins, apt/dpkg options (path-exclude ...), foreign architectures, yum/dnf repositories. Hosts that
 * differ here may get different packages from the same command, so they never share a rehearsal.
 */
const CONFIG_DIRS = ['etc/apt', 'etc/dpkg', 'etc/yum.repos.d', 'etc/dnf', 'etc/zypp'];
const CONFIG_FILES = ['var/lib/dpkg/arch', 'etc/yum.conf'];

export const isUnderAny = (path: string, dirs: readonly string[]): boolean => dirs.some((d) => path === d || path.startsWith(d + '/'));

export function isPackageConfig(path: string): boolean {
  return CONFIG_FILES.includes(path) || isUnderAny(path, CONFIG_DIRS);
}

/** An entry as far as what it holds matters (not its mtime): one canonical line. */
export function entryFingerprint(e: Entry): string {
  const what = e.type === 'file' ? `${e.size}:${e.sha256}` : e.type === 'symlink' ? e.target : e.type === 'hardlink' ? e.linkTo : '';
  return `${e.path}\t${e.type}\t${what}\t${e.mode.toString(8)}\t${e.uid}:${e.gid}\n`;
}
