// The repositories a host uses, read from its map (map1): the sources files' contents and apt mirror
// lists kept as files (mirror+file:) come from the store's objects, exactly as captured. The result is the
// proxy's allowlist and the list of sources the sandbox cannot use (cdrom:, a file: path the map lacks ...).
// mirror+http(s) lists live on the network: they are fetched later, through the proxy (sandbox-network.ts).
import { readFile } from 'node:fs/promises';
import type { Entry, Manifest } from '../../core/domain/manifest.ts';
import { accessOf, parseMirrorList, parseSourcesFile, sourcesFileKind, type AptSource } from '../../core/domain/apt-sources.ts';
import type { UnreachableSource } from '../../core/domain/network-report.ts';
import { objectPath } from '../store/store-paths.ts';
import type { Endpoint } from './access-policy.ts';

export interface RepoPlan {
  sources: AptSource[];
  /** host:port pairs of http(s) sources and of mirrors named in mirror+file lists. */
  endpoints: Endpoint[];
  /** mirror+http(s) lists still to fetch (their hosts are in endpoints). */
  remoteLists: Array<{ url: string; source: AptSource }>;
  unreachable: UnreachableSource[];
  /** file:/copy: sources the sandbox has on its own disk (for the log). */
  local: string[];
}

/** Reads a regular file of the map (following symlinks inside the map, as the host's apt would). */
export async function readMapFile(store: string, byPath: Map<string, Entry>, key: string): Promise<string | undefined> {
  let e = byPath.get(key);
  for (let hops = 0; e?.type === 'symlink' && hops < 8; hops++) {
    const t = e.target ?? '';
    const next = t.startsWith('/') ? t.slice(1) : [...key.split('/').slice(0, -1), t].join('/');
    key = normalizeKey(next);
    e = byPath.get(key);
  }
  if (e?.type === 'hardlink') e = byPath.get(e.linkTo ?? '');
  if (e?.type !== 'file' || !e.sha256) return undefined;
  return readFile(objectPath(store, e.sha256), 'utf8');
}

function normalizeKey(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop(); else out.push(part);
  }
  return out.join('/');
}

export async function planRepositories(store: string, map: Manifest): Promise<RepoPlan> {
  const byPath = new Map(map.entries.map((e) => [e.path, e]));
  const sources: AptSource[] = [];
  // in apt's order: sources.list first, then sources.list.d in name order
  const files = map.entries.map((e) => e.path).filter((k) => sourcesFileKind(k) !== undefined)
    .sort((a, b) => (a === 'etc/apt/sources.list' ? -1 : b === 'etc/apt/sources.list' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  for (const f of files) {
    const text = await readMapFile(store, byPath, f);
    if (text !== undefined) sources.push(...parseSourcesFile(f, text));
  }
  const plan: RepoPlan = { sources, endpoints: [], remoteLists: [], unreachable: [], local: [] };
  const seen = new Set<string>();
  const allow = (host: string, port: number) => {
    if (!seen.has(`${host}|${port}`)) { seen.add(`${host}|${port}`); plan.endpoints.push({ host, port }); }
  };
  const unreachable = (s: AptSource, uri: string, reason: string) => plan.unreachable.push({ uri, file: `/${s.file}:${s.line}`, reason });
  for (const s of sources) {
    const a = accessOf(s.uri);
    if (a.kind === 'network') allow(a.host, a.port);
    else if (a.kind === 'unavailable') unreachable(s, s.uri, a.reason);
    else if (a.kind === 'local') {
      const key = normalizeKey(a.path);
      if (byPath.get(key)?.type === 'dir') plan.local.push(s.uri);
      else unreachable(s, s.uri, `its directory ${a.path} is not in the map (excluded, or on a filesystem that was not captured)`);
    } else if (a.list.startsWith('file:')) {
      const path = a.list.slice('file:'.length).replace(/^\/\/(localhost)?/, '');
      const text = await readMapFile(store, byPath, normalizeKey(path));
      if (text === undefined) { unreachable(s, s.uri, `its mirror list ${path} is not in the map`); continue; }
      const mirrors = parseMirrorList(text);
      if (mirrors.length === 0) unreachable(s, s.uri, `its mirror list ${path} names no mirror`);
      for (const m of mirrors) {
        const ma = accessOf(m);
        if (ma.kind === 'network') allow(ma.host, ma.port);
        else if (ma.kind !== 'local') unreachable(s, m, `a mirror in ${path}: ${ma.kind === 'unavailable' ? ma.reason : 'a nested mirror list'}`);
      }
    } else {
      const ep = accessOf(a.list);
      if (ep.kind === 'network') { allow(ep.host, ep.port); plan.remoteLists.push({ url: a.list, source: s }); }
    }
  }
  return plan;
}

/** Mirrors named by a fetched mirror list, as endpoints; the rest reported unreachable. */
export function mirrorsOfList(plan: RepoPlan, list: { url: string; source: AptSource }, text: string | undefined): Endpoint[] {
  const s = list.source;
  const where = `/${s.file}:${s.line}`;
  if (text === undefined) { plan.unreachable.push({ uri: s.uri, file: where, reason: `its mirror list ${list.url} could not be fetched` }); return []; }
  const out: Endpoint[] = [];
  for (const m of parseMirrorList(text)) {
    const a = accessOf(m);
    if (a.kind === 'network') out.push({ host: a.host, port: a.port });
    else plan.unreachable.push({ uri: m, file: where, reason: `a mirror in ${list.url}: ${a.kind === 'unavailable' ? a.reason : 'not an http(s) mirror'}` });
  }
  if (out.length === 0) plan.unreachable.push({ uri: s.uri, file: where, reason: `its mirror list ${list.url} names no http(s) mirror` });
  return out;
}
