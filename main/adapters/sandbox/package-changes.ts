// Package changes from the dpkg database before and after the upgrade (`dpkg-query -W` output).
export const DPKG_LIST_CMD = "command -v dpkg-query >/dev/null && dpkg-query -W -f='${db:Status-Abbrev}\\t${Package}\\t${Version}\\n' || true";

export interface PackageChanges {
  upgraded: Array<{ name: string; from: string; to: string }>;
  installed: Array<{ name: string; version: string }>;
  removed: Array<{ name: string; version: string }>;
}

/** Installed packages (status 'ii'/'hi' ...: second letter 'i') -> version. */
export function parseDpkgList(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) { // a pty ends lines with CRLF
    const [status = '', name, version = ''] = line.split('\t');
    if (name && status[1] === 'i') out.set(name, version);
  }
  return out;
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
