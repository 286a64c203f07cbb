// A map is the content-addressed image of a host's OS: a manifest of entries whose file content lives
// in the object store under its sha256. The map id is the sha256 of the manifest's canonical encoding.
//
// Paths are byte strings on Linux. A path that is valid UTF-8 is kept as a plain string; one that is
// not is kept as `b64:` + base64 of its bytes (see path-key.ts), so every name round-trips exactly
// while JSON stays readable for the common case.

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo' | 'chardev' | 'blockdev';

export interface Entry {
  /** Path key relative to the captured root, '/'-separated, no leading slash; '' is the root itself. */
  path: string;
  type: EntryType;
  /** Full st_mode permission bits incl. setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Modification time, nanoseconds since the epoch, as a decimal string (exceeds 2^53). */
  mtimeNs: string;
  /** file: content size in bytes (logical size for sparse files). 0 otherwise. */
  size: number;
  /** file: sha256 hex of the content. */
  sha256?: string;
  /** file: data extents [offset, length][] when the file is sparse; absent = dense. */
  sparse?: Array<[number, number]>;
  /** symlink: target bytes as a path key (may be absolute, relative, dangling). */
  target?: string;
  /** hardlink: path key of the first entry of its link group (a 'file' entry earlier in the manifest). */
  linkTo?: string;
  /** chardev/blockdev: device numbers. */
  rdevMajor?: number;
  rdevMinor?: number;
  /** Extended attributes, name -> base64 value (security.capability, system.posix_acl_* included). */
  xattrs?: Record<string, string>;
}

export interface Exclusion {
  path: string;
  reason: 'pseudo-fs' | 'volatile' | 'network-fs' | 'fuse' | 'store' | 'operator' | 'socket' | 'unreadable'
    | 'other-fs';
  detail?: string;
}

export interface Manifest {
  version: 1;
  /** Where it came from: 'dir:/srv/root', 'ssh://root@web1:22', 'local'. */
  target: string;
  /** Host name as the host reports it (or the dir path for dir: targets). */
  host: string;
  /** ISO-8601 capture start time. */
  capturedAt: string;
  /** Entries sorted by path key (byte order of the encoded key), root first. */
  entries: Entry[];
  /** What was left out and why: pseudo filesystems, --exclude, sockets, unreadable files ... */
  excluded: Exclusion[];
  /** Files whose content or metadata changed while they were being read (after retries). */
  unstable: string[];
  /** Mount points of the real filesystems that were captured, e.g. ['', 'boot'] (path keys). */
  filesystems: Array<{ path: string; fstype: string; device?: string }>;
}

/** Summary of a map as listed by `understudy maps`. */
export interface MapInfo {
  id: string;
  /** Content id: the hash of the entries alone; identical trees share it (map-store.ts contentIdOf). */
  content: string;
  target: string;
  host: string;
  capturedAt: string;
  files: number;
  bytes: number;
}
