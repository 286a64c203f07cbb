// Package changes from the package databases before and after the upgrade: dpkg (`dpkg-query -W`) and,
// where present, rpm (`rpm -qa`), both printed as "STATUS<TAB>NAME<TAB>VERSION" lines.
const DPKG = "dpkg-query -W -f='${db:Status-Abbrev}\\t${Package}\\t${Version}\\n'";
// rpm has no "removed but configured" state: every listed package is installed ('ii'); the epoch only when set
const RPM = "rpm -qa --qf 'ii\\t%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n'";
export const PACKAGE_LIST_CMD = `{ command -v dpkg-query >/dev/null && ${DPKG}; command -v rpm >/dev/null && ${RPM}; } 2>/dev/null; true`;

export interface PackageChanges {
  upgraded: Array<{ name: string; from: string; to: string }>;
  installed: Array<{ name: string; version: string }>;
  removed: Array<{ name: string; version: string }>;
}

/** Installed packages (dpkg status 'ii'/'hi' ...: second letter 'i') -> version; a name installed in several
 *  versions at once (rpm kernels) -> its versions, sorted and joined. */
export function parsePackageList(text: string): Map<string, string> {
  const versions = new Map<string, string[]>();
  for (const line of text.split(/\r?\n/)) { // a pty ends lines with CRLF
    const [status = '', name, version = ''] = line.split('\t');
    if (name && status[1] === 'i') versions.set(name, [...(versions.get(name) ?? []), version]);
  }
  return new Map([...versions].map(([name, v]) => [name, v.sort().join(', ')]));
}

export function diffPackages(before: Map<string, string>, after: Map<string, string>): PackageChanges {
  const out: PackageChanges = { upgraded: [], installed: [], removed: [] };
  for (const [name, to] of after) {
    const from = before.get(name);
    if (from === undefined) out.installed.push({ name, version: to });
    else if (from !== to) out.upgraded.push({ name, from, to });
  }
  for (const [name, version] of before) if (!after.has(name)) out.removed.push({ name, version });
  for (const l of [out.upgraded, out.installed, out.removed]) l.sort((a, b) => a.name.localeCompare(b.name));
  return out;
}
