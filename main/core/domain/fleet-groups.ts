// Groups a fleet's hosts by what an upgrade of packages depends on, so that one rehearsal serves many:
//   - hosts whose map1s are identical (one content id) are trivially one group;
//   - otherwise hosts with the same OS release, the same installed package set (name, architecture,
//     version, status) and the same package-manager configuration (sources, pins, options) are one
//     group, whatever else differs (host name, machine-id, keys, logs, local edits);
//   - a host whose package database cannot be read groups only with identical trees.
// Hosts with different plans (command, checks) never share. The representative is the group's first
// host in fleet order, which is the canary when the group has one (canaries are the first N hosts).
// A group is only a proposal: every follower is still verified path by path against the representative's
// rehearsal (follower-delta.ts) before it takes anything.

export interface HostBasis {
  /** The OS release's identifying fields (package-db.ts osReleaseKey). */
  os: string;
  /** A fingerprint (hash) of the package set and of the package-manager configuration. */
  packages: string;
  config: string;
  /** For people: "Debian GNU/Linux 12 (bookworm), 231 packages (dpkg)". */
  label: string;
}

export interface FleetMember {
  target: string;
  /** Content id of the host's map1. */
  content: string;
  /** Null when the map has no package database we can read (the host groups by content id alone). */
  basis: HostBasis | null;
  /** The rehearsal the host asks for (command and checks): only equal plans share. */
  plan: string;
}

export interface HostGroup {
  /** Stable key of the group (the board a rehearsal is shared through). */
  key: string;
  /** The host that rehearses for the group. */
  representative: string;
  /** Every host of the group in fleet order, the representative first. */
  members: string[];
  /** Why they are one group: identical trees, or the same release, packages and configuration. */
  by: 'content' | 'packages';
  label: string;
}

export function groupKeyOf(m: FleetMember): { key: string; by: HostGroup['by'] } {
  if (!m.basis) return { key: `content:${m.content}|plan:${m.plan}`, by: 'content' };
  return { key: `os:${m.basis.os}|packages:${m.basis.packages}|config:${m.basis.config}|plan:${m.plan}`, by: 'packages' };
}

/** The fleet's groups, in the fleet order of their representatives. */
export function groupHosts(members: readonly FleetMember[]): HostGroup[] {
  const byKey = new Map<string, HostGroup>();
  const contents = new Map<string, Set<string>>();
  // identical trees have identical bases (both come from the entries), so they always meet in one group
  for (const m of members) {
    const { key, by } = groupKeyOf(m);
    const g = byKey.get(key);
    if (g) g.members.push(m.target);
    else byKey.set(key, { key, representative: m.target, members: [m.target], by, label: m.basis?.label ?? 'no package database: identical trees only' });
    contents.set(key, (contents.get(key) ?? new Set()).add(m.content));
  }
  // a group whose hosts all have one tree is one by content id, whatever its basis
  for (const g of byKey.values()) if (contents.get(g.key)!.size === 1) g.by = 'content';
  return [...byKey.values()];
}

/** A host that verification sent to a rehearsal of its own: it becomes a group of one. */
export function ownGroupKey(target: string): string {
  return `own:${target}`;
}
