// The seam between the swap orchestrator and a host: everything the swap needs from the machine it
// changes. `dir:` targets implement it with local files and a local `sh`; ssh:// hosts implement the same
// calls over one ssh2 connection (agent upload, `cat >` for content, the agent's own probe).
import type { HostEntry } from '../../core/domain/swap-drift.ts';
import type { ProbeRequest } from './local-probe.ts';

export interface AgentResult { code: number; stdout: string; stderr: string }

/** The host agent's two implementations of one plan and journal (see agent.sh). */
export type AgentPath = 'perl' | 'sh';

/** A file's text: whole, or chunks made as they are written. */
export type Text = string | Iterable<string>;

export interface HealthResult { cmd: string; ok: boolean; exitCode: number | null; output: string }

/** One object to stage: its host path, its content (a local file of known size, or bytes), its owner and mode. */
export interface StageFile {
  dest: string;
  src: { file: string; size: number } | { bytes: Uint8Array };
  mode: number;
  uid: number;
  gid: number;
  /** Called once the object is on the host (its source was a temporary file, now removed). */
  sent?(): Promise<void>;
}

export interface SwapHost {
  /** The target as the operator wrote it ('dir:/srv/root', 'ssh://root@web1'). */
  readonly target: string;
  readonly kind: 'dir' | 'ssh' | 'local';
  /** The host path that map paths are relative to ('/' on real hosts). */
  readonly root: string;
  /** Host directory holding agent.sh, tx/<txid>/{plan,journal,record.json} and the agent's lock. */
  readonly work: string;
  /** Staging/undo directory for one filesystem (mount point path key), on that same filesystem. */
  areaDir(mount: string, txid: string): string;
  probe(req: ProbeRequest): Promise<Map<string, HostEntry | null>>;
  /** Content of a file below the root (path key): for 3-way merges of small text files. */
  readFile(key: string): Promise<Buffer>;
  /** Free bytes on the filesystem holding hostDir (or its nearest existing parent). */
  freeBytes(hostDir: string): Promise<number>;
  mkdirp(hostDir: string): Promise<void>;
  /** Writes one staged object with its owner, then its mode (chown clears setuid); returns the bytes sent. */
  putObject(hostFile: string, src: { file: string } | { bytes: Uint8Array }, attrs: { mode: number; uid: number; gid: number }): Promise<number>;
  /**
   * Stages many objects (each like putObject, its parent directories made), in as few host round trips
   * as the host allows: shell hosts stream them all through one `tar -x`. Consumes `files` lazily, so a
   * source may be produced just before it is sent. Returns the content bytes sent.
   */
  stageFiles(files: AsyncIterable<StageFile>): Promise<number>;
  /** Writes a file whole (a temp name renamed into place); a large text comes as chunks, never held whole. */
  writeText(hostFile: string, text: Text): Promise<void>;
  /** Makes work/tx/TXID holding its plan, at once (built beside it and renamed): never one without the other. */
  createTx(txid: string, plan: Text): Promise<void>;
  readText(hostFile: string): Promise<string | null>;
  list(hostDir: string): Promise<string[]>;
  exists(hostPath: string): Promise<boolean>;
  /**
   * Copies the agent script to work/agent.sh (when it differs); resolves to the path its 'apply' takes on
   * this host (agent.sh: perl where the host has a usable perl, POSIX sh elsewhere), in the same round trip.
   */
  installAgent(env?: Record<string, string>): Promise<AgentPath>;
  /** Takes the target's orchestrator lock (see host-lock.ts); resolves to its release. Optional. */
  lock?(): Promise<() => Promise<void>>;
  agent(args: string[], env?: Record<string, string>): Promise<AgentResult>;
  health(cmds: string[], signal?: AbortSignal): Promise<HealthResult[]>;
  close(): Promise<void>;
}
