// One SSH connection (ssh2) to a remote pool member, and what we learn over it when it opens:
//   const s = await openMemberSession(spec, { store, identity, signal })
//   s.info          { user, uid, gid, home, workDir, bootId, relay: 'perl' | 'python3' }
//   s.ssh           the connection: exec, uploads (stdin), tunnel() to the member's loopback, listenRemote()
//   s.whenLost      resolves with why once the connection dropped (keepalive every 5 s, 4 misses)
//   s.relayCommand(port)   the guestfwd program line that splices a guest connection to 127.0.0.1:PORT there
// The work directory gets images/ (the content-addressed image cache), runs/ (per-run disks) and bin/
// (the relay script, named by its content). Nothing else is written or installed on the member.
// Credentials: the entry's identity (or the URI's keyfile=), else --identity, else ssh-agent, else the
// usual ~/.ssh/id_* keys. Host keys: the entry's known_hosts (or the URI's known_hosts=) alone when given;
// else understudy's own STORE/known_hosts, with ~/.ssh/known_hosts (what virsh trusts) read as well.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UnderstudyError, isUnderstudyError } from '../../core/domain/errors.ts';
import type { PoolMemberSpec } from '../../core/domain/pool-spec.ts';
import { connectSsh, type HostKeyPolicy, type SshShell } from '../ssh/ssh-shell.ts';
import { shellQuote } from '../capture/remote-listing.ts';

export interface MemberInfo {
  user: string; uid: number; gid: number; home: string; workDir: string; bootId: string;
  /** The interpreter the relay runs with. */
  relay: 'perl' | 'python3';
  relayScript: string;
}

export interface MemberSession {
  readonly spec: PoolMemberSpec;
  readonly ssh: SshShell;
  readonly info: MemberInfo;
  readonly whenLost: Promise<string>;
  /** Runs a command on the member; throws on a non-zero exit, with its stderr. */
  sh(cmd: string, o?: { signal?: AbortSignal; timeoutMs?: number; stdin?: string }): Promise<string>;
  relayCommand(port: number): string;
  close(): Promise<void>;
}

export interface SessionOptions {
  store: string;
  /** --identity, used when the entry names no key. */
  identity?: string;
  acceptNewHostKey?: boolean;
  signal?: AbortSignal;
  /** Keepalive probe interval (default 5 s; 4 missed probes and the member counts as lost). */
  keepaliveMs?: number;
}

const RELAYS = {
  perl: fileURLToPath(new URL('./member-relay.pl', import.meta.url)),
  python3: fileURLToPath(new URL('./member-relay.py', import.meta.url)),
} as const;

const expandHome = (p: string) => (p.startsWith('~/') ? join(homedir(), p.slice(2)) : p);

async function credentials(spec: PoolMemberSpec, o: SessionOptions): Promise<{ privateKey?: Buffer; agent?: string }> {
  const file = spec.identity ?? o.identity;
  if (file) {
    try { return { privateKey: await readFile(expandHome(file)) }; } catch (e) {
      throw new UnderstudyError('usage', `pool member ${spec.name}: cannot read the SSH key ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
  }
  if (process.env.SSH_AUTH_SOCK) return { agent: process.env.SSH_AUTH_SOCK };
  for (const name of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
    const p = join(homedir(), '.ssh', name);
    if (existsSync(p)) return { privateKey: readFileSync(p) };
  }
  throw new UnderstudyError('usage', `pool member ${spec.name}: no SSH key: give the entry an identity (or keyfile= in its URI), pass --identity, or run an ssh-agent`);
}

function hostKeyPolicy(spec: PoolMemberSpec, o: SessionOptions): HostKeyPolicy {
  if (spec.knownHosts) return { kind: 'known-hosts', path: expandHome(spec.knownHosts), acceptNew: Boolean(o.acceptNewHostKey) };
  return { kind: 'known-hosts', path: join(o.store, 'known_hosts'), acceptNew: Boolean(o.acceptNewHostKey), alsoTrusted: [join(homedir(), '.ssh', 'known_hosts')] };
}

const PROBE = 'id -un; id -u; id -g; printf "%s\\n" "$HOME"; cat /proc/sys/kernel/random/boot_id; '
  + 'for c in perl python3 tar gzip sha256sum; do command -v "$c" >/dev/null 2>&1 && echo "has $c"; done; '
  + "perl -MIO::Socket::INET -e 1 2>/dev/null && echo 'has perl-io'";

export async function openMemberSession(spec: PoolMemberSpec, o: SessionOptions): Promise<MemberSession> {
  if (!spec.ssh) throw new UnderstudyError('internal', `pool member ${spec.name} is this machine: it has no SSH session`);
  const label = `pool member ${spec.name} (${spec.ssh.user}@${spec.ssh.host}:${spec.ssh.port})`;
  let ssh: SshShell;
  try {
    ssh = await connectSsh({
      host: spec.ssh.host, port: spec.ssh.port, username: spec.ssh.user, ...(await credentials(spec, o)),
      hostKeyPolicy: hostKeyPolicy(spec, o), signal: o.signal, keepaliveMs: o.keepaliveMs ?? 5_000, readyTimeoutMs: 20_000,
    });
  } catch (e) {
    if (isUnderstudyError(e)) throw new UnderstudyError(e.code === 'bad-target' ? 'hypervisor' : e.code, `${label}: ${e.message}`, e.details);
    throw e;
  }
  const sh = async (cmd: string, x: { signal?: AbortSignal; timeoutMs?: number; stdin?: string } = {}) => {
    const r = await ssh.run(cmd, { signal: x.signal ?? o.signal, timeoutMs: x.timeoutMs ?? 120_000, ...(x.stdin !== undefined ? { stdin: x.stdin } : {}) });
    if (r.exitCode !== 0) {
      throw new UnderstudyError('hypervisor', `${label}: '${cmd.length > 120 ? cmd.slice(0, 120) + '...' : cmd}' failed `
        + `(exit ${r.exitCode ?? r.signal}): ${r.stderr.trim().split('\n').slice(-3).join('; ')}`);
    }
    return r.stdout;
  };
  try {
    const lines = (await sh(PROBE, { timeoutMs: 30_000 })).split('\n');
    const has = new Set(lines.filter((l) => l.startsWith('has ')).map((l) => l.slice(4)));
    const [user, uid, gid, home, bootId] = lines;
    const missing = ['tar', 'gzip', 'sha256sum'].filter((c) => !has.has(c));
    if (missing.length) throw new UnderstudyError('hypervisor', `${label}: ${missing.join(', ')} not found there (coreutils, tar and gzip are needed)`);
    const relay = has.has('perl-io') ? 'perl' : has.has('python3') ? 'python3' : undefined;
    if (!relay) throw new UnderstudyError('hypervisor', `${label}: neither perl (with IO::Socket::INET) nor python3 is there, so the sandbox's package relay cannot run`);
    const workDir = spec.workDir ? spec.workDir.replace(/^~\//, `${home}/`) : `${home}/.cache/understudy-pool`;
    const text = readFileSync(RELAYS[relay]);
    const relayScript = `${workDir}/bin/relay-${createHash('sha256').update(text).digest('hex').slice(0, 16)}.${relay === 'perl' ? 'pl' : 'py'}`;
    const q = shellQuote;
    await sh(`mkdir -p ${q(workDir)}/images ${q(workDir)}/runs ${q(workDir)}/bin && `
      + `{ test -s ${q(relayScript)} || { cat >${q(relayScript)}.tmp.$$ && mv ${q(relayScript)}.tmp.$$ ${q(relayScript)}; }; }`,
    { stdin: text.toString('utf8') });
    const info: MemberInfo = { user: user!, uid: Number(uid), gid: Number(gid), home: home!, workDir, bootId: bootId!, relay, relayScript };
    return {
      spec, ssh, info, whenLost: ssh.whenLost, sh,
      relayCommand: (port) => `${relay} ${q(relayScript)} 127.0.0.1 ${port}`,
      close: () => ssh.close(),
    };
  } catch (e) {
    await ssh.close();
    throw e;
  }
}
