// A pool of hypervisors the sandboxes are spread over: what each member is and how it is reached.
//   parsePoolMember('qemu+ssh://root@hv1/system')      -> { uri, name: 'hv1', ssh: { user: 'root', host: 'hv1', port: 22 }, ... }
//   parsePoolMember({ uri, ssh: 'ops@hv1:2222', capacity: 2, cache: '40G', work_dir: '/srv/us' })
//   parsePoolMember('qemu:///system') / parsePoolMember('qemu')   -> a member on this machine (no ssh)
// A remote member is a libvirt URI with a host; its SSH reach comes from the URI (user, host, port, the
// keyfile= and known_hosts= parameters) unless the entry names it. Pure: no I/O.
import { UnderstudyError } from './errors.ts';

export type Accel = 'kvm' | 'tcg' | 'auto';

export interface SshReach { user: string; host: string; port: number }

export interface PoolMemberSpec {
  /** The libvirt URI, or 'qemu' for the built-in QEMU of this machine. */
  uri: string;
  /** Shown in logs and reports: the URI's host, 'local' for this machine, unless the entry names it. */
  name: string;
  /** How to reach the member over SSH; absent for a member on this machine. */
  ssh?: SshReach;
  /** Private key for that SSH connection (default: the URI's keyfile=, else --identity, else ssh-agent). */
  identity?: string;
  /** known_hosts for it (default: the URI's known_hosts=, else understudy's own and ~/.ssh/known_hosts). */
  knownHosts?: string;
  /** Work directory on the member (image cache and per-run disks); default ~/.cache/understudy-pool there. */
  workDir?: string;
  /** Sandboxes at once; default from the member's CPUs and memory (read through libvirt). */
  capacity?: number;
  /** Bound of the member's image cache, bytes. */
  cacheBytes: number;
  accel: Accel;
}

export const DEFAULT_CACHE_BYTES = 20 * 2 ** 30;
export const BUILTIN_QEMU = 'qemu';

const usage = (m: string) => new UnderstudyError('usage', m);

/** '20G', '512M', '1.5T', '1000000' (bytes). */
export function parseSize(text: string | number, what: string): number {
  if (typeof text === 'number' && Number.isFinite(text) && text > 0) return Math.floor(text);
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$/i.exec(String(text));
  if (!m) throw usage(`${what}: '${text}' is not a size (e.g. 20G, 512M)`);
  const unit = (m[2] ?? 'B').toUpperCase()[0]!;
  const mult = { B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }[unit]!;
  const n = Math.floor(Number(m[1]) * mult);
  if (n <= 0) throw usage(`${what}: '${text}' must be more than 0`);
  return n;
}

/** user@host[:port], host[:port] (user defaults to `defaultUser`); [v6]:port allowed. */
export function parseSshReach(text: string, defaultUser: string, what: string): SshReach {
  const m = /^(?:([A-Za-z0-9._-]+)@)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(text.trim());
  if (!m) throw usage(`${what}: '${text}' is not USER@HOST[:PORT]`);
  const port = m[3] ? Number(m[3]) : 22;
  if (port < 1 || port > 65535) throw usage(`${what}: port ${port} out of range`);
  return { user: m[1] ?? defaultUser, host: m[2]!.replace(/^\[|\]$/g, ''), port };
}

interface UriParts { scheme: string; transport?: string; user?: string; host?: string; port?: number; params: URLSearchParams }

/** driver[+transport]://[user@][host][:port]/path[?params] as libvirt reads it. */
export function parseLibvirtUri(uri: string): UriParts {
  const m = /^([a-z0-9]+)(?:\+([a-z0-9]+))?:\/\/(?:([^@/?#]*)@)?(\[[^\]]*\]|[^:/?#]*)?(?::(\d+))?(\/[^?#]*)?(?:\?([^#]*))?$/i.exec(uri);
  if (!m) throw usage(`libvirt URI '${uri}' is not driver[+transport]://[user@][host][:port]/path (e.g. qemu+ssh://root@hv1/system)`);
  const port = m[5] ? Number(m[5]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) throw usage(`libvirt URI '${uri}': port out of range`);
  return {
    scheme: m[1]!.toLowerCase(), transport: m[2]?.toLowerCase(), user: m[3] ? decodeURIComponent(m[3]) : undefined,
    host: m[4] ? m[4].replace(/^\[|\]$/g, '') : undefined, port, params: new URLSearchParams(m[7] ?? ''),
  };
}

const SSH_TRANSPORTS = new Set(['ssh', 'libssh', 'libssh2']);

export interface PoolEntryInput {
  uri: string;
  name?: string;
  ssh?: string;
  identity?: string;
  known_hosts?: string;
  work_dir?: string;
  capacity?: number;
  cache?: string | number;
  accel?: Accel;
}

/** One member from a --libvirt-uri value or a fleet file's `pool:` entry. `localUser`: the default SSH user. */
export function parsePoolMember(entry: string | PoolEntryInput, localUser = 'root'): PoolMemberSpec {
  const e: PoolEntryInput = typeof entry === 'string' ? { uri: entry } : entry;
  const what = `pool member ${e.uri}`;
  if (e.capacity !== undefined && (!Number.isInteger(e.capacity) || e.capacity < 1)) throw usage(`${what}: capacity must be a whole number >= 1`);
  if (e.accel !== undefined && !['kvm', 'tcg', 'auto'].includes(e.accel)) throw usage(`${what}: accel must be kvm, tcg or auto`);
  const common = {
    cacheBytes: e.cache === undefined ? DEFAULT_CACHE_BYTES : parseSize(e.cache, `${what}: cache`),
    accel: e.accel ?? 'auto' as Accel,
    ...(e.capacity !== undefined ? { capacity: e.capacity } : {}),
  };
  if (e.uri === BUILTIN_QEMU) {
    if (e.ssh || e.work_dir) throw usage(`${what}: the built-in QEMU runs on this machine; ssh and work_dir do not apply`);
    return { uri: e.uri, name: e.name ?? 'local', ...common };
  }
  const u = parseLibvirtUri(e.uri);
  const remote = Boolean(u.host) && u.host !== 'localhost';
  if (!remote) {
    if (e.ssh) throw usage(`${what}: a URI without a host is this machine; ssh does not apply`);
    if (u.transport && u.transport !== 'unix') throw usage(`${what}: transport '${u.transport}' needs a host`);
    return { uri: e.uri, name: e.name ?? 'local', ...common };
  }
  if (u.transport && !SSH_TRANSPORTS.has(u.transport) && !e.ssh) {
    throw usage(`${what}: the sandbox's disks and forwards travel over SSH; with transport '${u.transport}' give the member's ssh: USER@HOST[:PORT]`);
  }
  const fromUri: SshReach = { user: u.user ?? localUser, host: u.host!, port: SSH_TRANSPORTS.has(u.transport ?? '') ? u.port ?? 22 : 22 };
  const ssh = e.ssh ? parseSshReach(e.ssh, fromUri.user, `${what}: ssh`) : fromUri;
  const identity = e.identity ?? u.params.get('keyfile') ?? undefined;
  const knownHosts = e.known_hosts ?? u.params.get('known_hosts') ?? undefined;
  if (e.work_dir !== undefined && !e.work_dir.startsWith('/') && !e.work_dir.startsWith('~/')) {
    throw usage(`${what}: work_dir must be an absolute path (or start with ~/)`);
  }
  return {
    uri: e.uri, name: e.name ?? ssh.host, ssh,
    ...(identity ? { identity } : {}), ...(knownHosts ? { knownHosts } : {}), ...(e.work_dir ? { workDir: e.work_dir } : {}),
    ...common,
  };
}

/** A pool from its entries: names must differ (they label the members everywhere). */
export function parsePool(entries: Array<string | PoolEntryInput>, localUser = 'root'): PoolMemberSpec[] {
  const members = entries.map((e) => parsePoolMember(e, localUser));
  const seen = new Map<string, string>();
  for (const m of members) {
    const other = seen.get(m.name);
    if (other !== undefined) throw usage(`pool members ${other} and ${m.uri} have the same name '${m.name}': give one a name:`);
    seen.set(m.name, m.uri);
  }
  return members;
}

/** The member is this machine (shares its files and loopback). */
export const isLocalMember = (m: PoolMemberSpec): boolean => m.ssh === undefined;
