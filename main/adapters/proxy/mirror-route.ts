// --mirror: a local copy of repositories that stands in for the host's own (offline and air-gapped hosts,
// the demo). How requests map onto it:
//   --mirror DIR|URL            stands in for EVERY http source of the host: a request for SOURCE_URI/PATH
//                               is answered from DIR/PATH (or URL/PATH, requested with URL's own Host);
//   --mirror SOURCE_URI=DIR|URL only for the sources under SOURCE_URI (repeat for several repositories,
//                               e.g. one for the archive, one for the security archive).
// A file missing from the mirror is a 404: a mirrored repository never falls back to its upstream.
// https sources cannot be mirrored (understudy never decrypts a tunnel). Before the sandbox boots, every
// mirrored source's suites must be found in its mirror (dists/SUITE/InRelease or Release; a flat suite's
// Release/Packages): a mirror that cannot serve them is a clear error, not a 404 inside apt.
import { realpath, stat } from 'node:fs/promises';
import { sep } from 'node:path';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { endpointOf, underUri, type AptSource } from '../../core/domain/apt-sources.ts';

export type MirrorTarget = { kind: 'dir'; dir: string } | { kind: 'url'; url: string };
export interface MirrorOption { from?: string; to: MirrorTarget; text: string }
export interface MirrorRoute { from: string; to: MirrorTarget; label: string }

const isUrl = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);

/** Parses one --mirror value; throws a usage error naming what is wrong. Directories are checked later. */
export function parseMirrorOption(text: string): MirrorOption {
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^=\s]+)=(.+)$/i.exec(text);
  const from = m?.[1], toText = m ? m[2]! : text;
  const bad = (why: string) => new UnderstudyError('usage', `--mirror ${text}: ${why}`);
  if (from) {
    const ep = endpointOf(from);
    if (!ep) throw bad(`'${from}' is not an http:// repository URI`);
    if (ep.scheme === 'https') throw bad('an https source cannot be served from a mirror (understudy never decrypts its tunnel); use --upstream-proxy, or switch the source to http');
  }
  if (isUrl(toText)) {
    const ep = endpointOf(toText);
    if (!ep) throw bad(`'${toText}' is not a URL`);
    if (ep.scheme !== 'http') throw bad('mirror URLs must be http:// (understudy fetches them itself)');
    return { ...(from ? { from } : {}), to: { kind: 'url', url: toText.replace(/\/*$/, '/') }, text };
  }
  if (!toText) throw bad('no directory or URL');
  return { ...(from ? { from } : {}), to: { kind: 'dir', dir: toText }, text };
}

/** The routes for the host's sources: each option without SOURCE_URI= applies to every http source. */
export function mirrorRoutes(options: MirrorOption[], sources: AptSource[]): MirrorRoute[] {
  const routes: MirrorRoute[] = [];
  const label = (t: MirrorTarget) => (t.kind === 'dir' ? `mirror ${t.dir}` : `mirror ${t.url}`);
  for (const o of options) {
    if (o.from) { routes.push({ from: o.from, to: o.to, label: label(o.to) }); continue; }
    const uris = [...new Set(sources.filter((s) => endpointOf(s.uri)?.scheme === 'http').map((s) => s.uri))];
    if (uris.length === 0) {
      throw new UnderstudyError('usage', `--mirror ${o.text}: the host has no http:// source for a mirror to stand in for` +
        `${sources.length ? ` (its sources: ${[...new Set(sources.map((s) => s.uri))].join(', ')})` : ''}`);
    }
    for (const from of uris) routes.push({ from, to: o.to, label: label(o.to) });
  }
  return routes;
}

/** The route and relative path for a request URL (the longest matching source URI wins). */
export function routeFor(routes: MirrorRoute[], url: string): { route: MirrorRoute; rel: string } | undefined {
  let best: { route: MirrorRoute; rel: string } | undefined;
  for (const route of routes) {
    const rel = underUri(route.from, url);
    if (rel !== undefined && (!best || route.from.length > best.route.from.length)) best = { route, rel };
  }
  return best;
}

/** A regular file inside `root` for a relative URL path, or undefined (missing, a directory, or escaping root). */
export async function fileInDir(root: string, rel: string): Promise<{ path: string; size: number; mtime: Date } | undefined> {
  let decoded: string;
  try { decoded = decodeURIComponent(rel); } catch { return undefined; }
  if (decoded.includes('\0')) return undefined;
  let real: string, file: string;
  try { real = await realpath(root); file = await realpath(real + sep + decoded.replace(/^\/+/, '')); } catch { return undefined; }
  if (file !== real && !file.startsWith(real + sep)) return undefined; // .. or a symlink out of the mirror
  const st = await stat(file).catch(() => undefined);
  return st?.isFile() ? { path: file, size: st.size, mtime: st.mtime } : undefined;
}

/** Paths that show a mirror serves `suite` (relative to the repository root). */
export function suiteProbes(suite: string): string[] {
  if (suite.endsWith('/')) {
    const d = suite === './' ? '' : suite;
    return ['InRelease', 'Release', 'Packages', 'Packages.gz', 'Packages.xz'].map((f) => d + f);
  }
  return [`dists/${suite}/InRelease`, `dists/${suite}/Release`];
}

/**
 * Checks, before the sandbox boots, that every route's mirror has the suites of the sources it stands in
 * for. `probeUrl(url)` answers whether a URL exists (the proxy's own fetch, through an upstream proxy if any).
 */
export async function checkMirrors(routes: MirrorRoute[], sources: AptSource[], probeUrl: (url: string) => Promise<boolean>): Promise<void> {
  for (const route of routes) {
    if (route.to.kind === 'dir') {
      const st = await stat(route.to.dir).catch(() => undefined);
      if (!st?.isDirectory()) throw new UnderstudyError('usage', `--mirror ${route.to.dir}: not a directory`);
    }
    for (const s of sources.filter((x) => x.types.includes('deb'))) {
      const base = underUri(route.from, s.uri);
      if (base === undefined) continue;
      const prefix = base === '' ? '' : base.replace(/\/*$/, '/');
      for (const suite of s.suites) {
        let found = false;
        for (const p of suiteProbes(suite).map((x) => prefix + x)) {
          found = route.to.kind === 'dir' ? (await fileInDir(route.to.dir, p)) !== undefined : await probeUrl(route.to.url + p);
          if (found) break;
        }
        if (!found) {
          const where = route.to.kind === 'dir' ? route.to.dir : route.to.url;
          throw new UnderstudyError('usage', `--mirror ${where} cannot serve suite '${suite}' of the host's source ${s.uri} ` +
            `(/${s.file} line ${s.line}): none of ${suiteProbes(suite).slice(0, 2).join(', ')} found in it` +
            `${routes.length > 1 || !route.from ? '; give the mirror for one source only as --mirror SOURCE_URI=MIRROR' : ''}`);
        }
      }
    }
  }
}
