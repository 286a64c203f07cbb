// A host's apt sources, read from its map: which repositories its package manager reaches and how. This
// is what the sandbox may reach (the allowlist of understudy's proxy), so it follows apt's own rules:
//   - files: etc/apt/sources.list, etc/apt/sources.list.d/NAME.list (one-line) and NAME.sources (deb822);
//     apt ignores other names (NAME of [A-Za-z0-9_.-], e.g. foo.list.disabled is not read);
//   - one-line: `deb [opt=val ...] URI SUITE [COMPONENT...]`, '#' comments;
//   - deb822: stanzas of `Field: value` (continuation lines start with a blank), `Enabled: no` skipped,
//     every URI of `URIs:` (and every type of `Types:`) counts;
//   - URI methods: http/https (network), mirror/mirror+http(s)/mirror+file (a list of mirrors, followed),
//     file/copy (a path on the host), cdrom and anything else (nothing the sandbox can reach).
// Pure: the caller reads the files (from the map's objects) and fetches mirror lists.

export interface AptSource {
  /** Path key of the file it came from (e.g. 'etc/apt/sources.list.d/debian.sources'). */
  file: string;
  /** 1-based line of the entry (one-line) or of the stanza's first line (deb822). */
  line: number;
  types: string[];
  uri: string;
  suites: string[];
  components: string[];
  options: Record<string, string>;
}

const NAME = /^[A-Za-z0-9_.-]+$/;

/** 'list' | 'sources' for a path key apt reads as a sources file, else undefined. */
export function sourcesFileKind(key: string): 'list' | 'sources' | undefined {
  if (key === 'etc/apt/sources.list') return 'list';
  const m = /^etc\/apt\/sources\.list\.d\/([^/]+)$/.exec(key);
  if (!m || !NAME.test(m[1]!)) return undefined;
  if (m[1]!.endsWith('.list')) return 'list';
  if (m[1]!.endsWith('.sources')) return 'sources';
  return undefined;
}

/** The entries of a sources file of either format. */
export function parseSourcesFile(file: string, text: string): AptSource[] {
  return sourcesFileKind(file) === 'sources' ? parseDeb822(file, text) : parseOneLine(file, text);
}

/** Words as apt splits a one-line entry: [...] and "..." group (cdrom:[Debian GNU/Linux 12 ...]/ has spaces). */
function words(line: string): string[] {
  const out: string[] = [];
  let cur = '', close = '';
  for (const ch of line) {
    if (close) { cur += ch; if (ch === close) close = ''; continue; }
    if (/\s/.test(ch)) { if (cur) out.push(cur); cur = ''; continue; }
    if (ch === '[') close = ']'; else if (ch === '"') close = '"';
    cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

export function parseOneLine(file: string, text: string): AptSource[] {
  const out: AptSource[] = [];
  text.split('\n').forEach((raw, i) => {
    const w = words(raw.replace(/#.*/, '').trim());
    if (w[0] !== 'deb' && w[0] !== 'deb-src') return; // apt refuses such a file; the host's own apt-get fails the same way
    const options: Record<string, string> = {};
    let k = 1;
    if (w[1]?.startsWith('[')) {
      for (const o of w[1].slice(1, -1).trim().split(/\s+/).filter(Boolean)) {
        const eq = o.indexOf('=');
        options[eq < 0 ? o : o.slice(0, eq)] = eq < 0 ? '' : o.slice(eq + 1);
      }
      k = 2;
    }
    const [uri, suite, ...components] = w.slice(k);
    if (!uri || !suite) return;
    out.push({ file, line: i + 1, types: [w[0]], uri: uri.replace(/"/g, ''), suites: [suite], components, options });
  });
  return out;
}

export function parseDeb822(file: string, text: string): AptSource[] {
  const out: AptSource[] = [];
  let fields = new Map<string, string>();
  let start = 0;
  let last: string | undefined;
  const finish = () => {
    if (fields.size > 0 && (fields.get('enabled') ?? 'yes').trim().toLowerCase() !== 'no') {
      const words = (k: string) => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
      const options: Record<string, string> = {};
      for (const [k, v] of fields) if (!['types', 'uris', 'suites', 'components', 'enabled'].includes(k)) options[k] = v.trim();
      for (const uri of words('uris')) {
        out.push({ file, line: start, types: words('types'), uri, suites: words('suites'), components: words('components'), options });
      }
    }
    fields = new Map();
    last = undefined;
  };
  text.split('\n').forEach((raw, i) => {
    if (raw.startsWith('#')) return;
    if (!raw.trim()) { finish(); return; }
    if (/^\s/.test(raw)) { // continuation of the last field (Signed-By may carry a whole key)
      if (last) fields.set(last, `${fields.get(last)}\n${raw.trim()}`);
      return;
    }
    const colon = raw.indexOf(':');
    if (colon < 0) return;
    if (fields.size === 0) start = i + 1;
    last = raw.slice(0, colon).trim().toLowerCase();
    fields.set(last, raw.slice(colon + 1).trim());
  });
  finish();
  return out;
}

/** How the sandbox can reach one source URI. */
export type SourceAccess =
  | { kind: 'network'; uri: string; scheme: 'http' | 'https'; host: string; port: number }
  /** apt's mirror method: `list` is where the list of mirrors lives (file:/path or an http(s) URL). */
  | { kind: 'mirror-list'; uri: string; list: string }
  /** file:/copy: a directory on the host itself (it is in the sandbox when the map holds it). */
  | { kind: 'local'; uri: string; path: string }
  | { kind: 'unavailable'; uri: string; reason: string };

/** host (lower case, IPv6 without brackets, no trailing dot) and port of an http(s) URL, or undefined. */
export function endpointOf(url: string): { scheme: 'http' | 'https'; host: string; port: number } | undefined {
  let u: URL;
  try { u = new URL(url); } catch { return undefined; }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  const scheme = u.protocol === 'http:' ? 'http' : 'https';
  const host = normalizeHost(u.hostname);
  if (!host) return undefined;
  return { scheme, host, port: u.port ? Number(u.port) : scheme === 'http' ? 80 : 443 };
}

export const normalizeHost = (h: string): string => h.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();

export function accessOf(uri: string): SourceAccess {
  const m = /^([a-z][a-z0-9+.-]*):(.*)$/i.exec(uri);
  if (!m) return { kind: 'unavailable', uri, reason: 'not a URI' };
  const method = m[1]!.toLowerCase();
  const ep = endpointOf(uri);
  if ((method === 'http' || method === 'https') && ep) return { kind: 'network', uri, ...ep };
  if (method === 'mirror' || method === 'mirror+http' || method === 'mirror+https') {
    const list = (method === 'mirror+https' ? 'https:' : 'http:') + m[2];
    return endpointOf(list) ? { kind: 'mirror-list', uri, list } : { kind: 'unavailable', uri, reason: 'a mirror list URL that cannot be parsed' };
  }
  if (method === 'mirror+file') return { kind: 'mirror-list', uri, list: `file:${m[2]}` };
  if (method === 'file' || method === 'copy') {
    const path = fileUrlPath(m[2]!);
    return path ? { kind: 'local', uri, path } : { kind: 'unavailable', uri, reason: 'a file: URI without a path' };
  }
  if (method === 'cdrom') return { kind: 'unavailable', uri, reason: 'a cdrom: source (no disc in the sandbox)' };
  if (method.startsWith('tor+')) return { kind: 'unavailable', uri, reason: 'a tor+ source (the sandbox has no Tor)' };
  return { kind: 'unavailable', uri, reason: `the '${method}' method (the sandbox reaches http and https repositories only)` };
}

/** '/srv/repo' from 'file:/srv/repo', 'file:///srv/repo' or 'file://localhost/srv/repo' (percent-decoded). */
export function fileUrlPath(rest: string): string | undefined {
  const p = rest.startsWith('//') ? rest.replace(/^\/\/(localhost)?/, '') : rest;
  if (!p.startsWith('/')) return undefined;
  try { return decodeURIComponent(p); } catch { return p; }
}

/** The mirror URIs of an apt mirror list (one per line, optional tab-separated metadata, '#' comments). */
export function parseMirrorList(text: string): string[] {
  return text.split('\n').map((l) => l.replace(/#.*/, '').split('\t')[0]!.trim()).filter((l) => /^[a-z][a-z0-9+.-]*:/i.test(l));
}

/** `HOST[:PORT]` as given to --allow-host (IPv6 in brackets when a port follows). Throws a message on bad input. */
export function parseHostPort(text: string): { host: string; port?: number } {
  const s = text.trim();
  const m = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(s) ?? /^([^:/\s[\]@]+)(?::(\d+))?$/.exec(s) ?? /^([0-9a-fA-F:]*:[0-9a-fA-F:.]*)$/.exec(s);
  if (!m || !m[1]) throw new Error(`'${text}' is not HOST or HOST:PORT`);
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) throw new Error(`'${text}': port ${m[2]} is out of range`);
  return { host: normalizeHost(m[1]), ...(port !== undefined ? { port } : {}) };
}

/** Is `url` at or below the repository root `base` (same scheme, host, port; path prefix on a '/' boundary)? */
export function underUri(base: string, url: string): string | undefined {
  const b = endpointOf(base), u = endpointOf(url);
  if (!b || !u || b.scheme !== u.scheme || b.host !== u.host || b.port !== u.port) return undefined;
  const bp = new URL(base).pathname.replace(/\/*$/, '/');
  const up = new URL(url).pathname;
  if (up === bp.slice(0, -1)) return '';
  return up.startsWith(bp) ? up.slice(bp.length) : undefined;
}
