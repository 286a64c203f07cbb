// RemoteShell over ssh2 (one connection, many exec channels).
//   const sh = await connectSsh({ host, port, username: 'root', privateKey, hostKeyPolicy, signal })
//   await sh.exec(cmd, { onStdout, onStderr, stdin, timeoutMs, signal })   -> { exitCode, signal? }
//   await sh.run(cmd)                                                      -> + { stdout, stderr } (bounded)
//   const { stdout, stdin, stderr, done } = await sh.execStream(cmd, { signal, timeoutMs, stdin: 'pipe' })
//     stdout is the channel itself (back-pressure works with pipeline()); stderr is always drained, its tail
//     comes back in `done`; without stdin: 'pipe' the command's stdin gets EOF at once.
//   const duplex = await sh.tunnel('127.0.0.1', port)              -> a connection made from the remote side
//   const fwd = await sh.listenRemote('127.0.0.1', (conn) => ...)  -> { port, close() }: remote listener
//   sh.lost                                                        -> resolves (with why) if the connection drops
//   await sh.close()
// Host keys: { kind: 'known-hosts', path, acceptNew? } checks understudy's own known_hosts (known-hosts.ts);
// { kind: 'accept-any' } is for sandboxes only (fresh keys every run, reached over loopback).
// Errors: connect -> UnderstudyError 'host-key-unknown' | 'host-key-changed' | 'bad-target' | 'timeout' |
// 'cancelled'; exec -> 'timeout' | 'cancelled' | 'remote-command' (channel refused, connection lost).
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import type { Duplex, Readable, Writable } from 'node:stream';
import { UnderstudyError, isUnderstudyError } from '../../core/domain/errors.ts';
import type { ExecOptions, ExecResult, RemoteShell } from '../../core/ports/remote-shell.port.ts';
import { checkHostKey } from './known-hosts.ts';
import { runCollected } from '../local/run-collected.ts';

export type HostKeyPolicy =
  | { kind: 'known-hosts'; path: string; acceptNew?: boolean; /** also checked, never written */ alsoTrusted?: string[] }
  | { kind: 'accept-any' };

export interface SshConnectOptions {
  host: string;
  port?: number;
  username: string;
  /** OpenSSH or PEM private key; or `agent` (path of an ssh-agent socket). */
  privateKey?: string | Buffer;
  agent?: string;
  hostKeyPolicy: HostKeyPolicy;
  readyTimeoutMs?: number;
  /** Keepalive probe interval; the connection counts as lost after 4 unanswered probes (default 15 s). */
  keepaliveMs?: number;
  signal?: AbortSignal;
}

export interface ExecStream {
  stdout: Readable;
  stderr: Readable;
  /** Present with stdin: 'pipe'; end() it to send EOF. */
  stdin?: Writable;
  done: Promise<ExecResult & { stderrTail: string }>;
}

/** A RemoteShell that may also stream (SshShell, LocalShell): callers fall back to exec() without it. */
export type StreamingShell = RemoteShell & {
  execStream?(cmd: string, o: { stdin?: 'pipe'; signal?: AbortSignal; timeoutMs?: number }): Promise<ExecStream>;
};

interface EarlyEvents { exit?: { code: number | null; signal?: string }; closed?: boolean }
const earlyEvents = new WeakMap<ClientChannel, EarlyEvents>();
const STDERR_TAIL = 16 * 1024;

export async function connectSsh(o: SshConnectOptions): Promise<SshShell> {
  const port = o.port ?? 22;
  const where = `${o.username}@${o.host}:${port}`;
  if (!o.privateKey && !o.agent) throw new UnderstudyError('usage', `ssh ${where}: give a private key or an agent socket`);
  if (o.signal?.aborted) throw new UnderstudyError('cancelled', `ssh ${where}: cancelled`);
  const client = new Client();
  let hostKeyError: UnderstudyError | undefined;
  const config: ConnectConfig = {
    host: o.host, port, username: o.username, privateKey: o.privateKey, agent: o.agent,
    readyTimeout: o.readyTimeoutMs ?? 20_000, keepaliveInterval: o.keepaliveMs ?? 15_000, keepaliveCountMax: 4,
    hostVerifier: (key: Buffer) => {
      if (o.hostKeyPolicy.kind === 'accept-any') return true;
      try {
        checkHostKey(o.hostKeyPolicy.path, o.host, port, key, o.hostKeyPolicy.acceptNew ?? false, o.hostKeyPolicy.alsoTrusted);
        return true;
      } catch (e) {
        hostKeyError = isUnderstudyError(e) ? e : new UnderstudyError('io', String(e));
        return false;
      }
    },
  };
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => { client.end(); reject(new UnderstudyError('cancelled', `ssh ${where}: cancelled`)); };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (err?: Error) => {
      o.signal?.removeEventListener('abort', onAbort);
      client.removeListener('ready', onReady);
      client.removeListener('error', onError);
      // ssh2 may report more errors after the first (e.g. a reset after a timeout): nobody waits for them.
      client.on('error', () => {});
      if (err) { client.end(); reject(err); } else resolve();
    };
    const onReady = () => settle();
    const onError = (err: Error & { level?: string; code?: string }) => {
      if (hostKeyError) return settle(hostKeyError);
      if (/timed out/i.test(err.message)) return settle(new UnderstudyError('timeout', `ssh ${where}: no answer within ${config.readyTimeout} ms`));
      const what = err.level === 'client-authentication' ? 'authentication failed' : err.message;
      settle(new UnderstudyError('bad-target', `ssh ${where}: ${what}`, { host: o.host, port, code: err.code ?? err.level }));
    };
    client.once('ready', onReady);
    client.on('error', onError);
    client.connect(config);
  });
  return new SshShell(client, where);
}

export class SshShell implements RemoteShell {
  private lost = false;
  private closed = false;
  /** Resolves with the reason once the connection dropped by itself (never after close()). */
  readonly whenLost: Promise<string>;
  private readonly remoteListeners = new Map<number, (conn: Duplex) => void>();

  constructor(private readonly client: Client, readonly where: string) {
    let lostWith!: (why: string) => void;
    this.whenLost = new Promise((r) => { lostWith = r; });
    let lastError = '';
    client.on('error', (e: Error) => { this.lost = true; lastError = e.message; });
    client.on('close', () => {
      this.lost = true;
      if (!this.closed) lostWith(lastError || 'the connection closed');
    });
    // connections to our remote listeners (listenRemote), by the port they came in on
    client.on('tcp connection', (info, accept, reject) => {
      const handler = this.remoteListeners.get(info.destPort);
      if (!handler) { reject(); return; }
      handler(accept());
    });
  }

  /** True once the connection has dropped or been closed. */
  get isClosed(): boolean { return this.lost || this.closed; }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const { stdout, stderr, stdin, done } = await this.execStream(command, {
      signal: opts.signal, timeoutMs: opts.timeoutMs, stdin: opts.stdin === undefined ? undefined : 'pipe' });
    if (opts.onStdout) stdout.on('data', (c: Buffer) => opts.onStdout!(c)); else stdout.resume();
    if (opts.onStderr) stderr.on('data', (c: Buffer) => opts.onStderr!(c));
    stdin?.end(opts.stdin);
    const { exitCode, signal } = await done;
    return signal ? { exitCode, signal } : { exitCode };
  }

  run(command: string, opts: Omit<ExecOptions, 'onStdout' | 'onStderr'> = {}) {
    return runCollected(this, this.where, command, opts);
  }

  /** Opens an exec channel; resolves once the command runs. */
  async execStream(command: string, opts: { signal?: AbortSignal; timeoutMs?: number; stdin?: 'pipe' } = {}): Promise<ExecStream> {
    if (opts.signal?.aborted) throw new UnderstudyError('cancelled', `${this.where}: '${command}' cancelled`);
    if (this.isClosed) throw new UnderstudyError('remote-command', `${this.where}: connection is closed`);
    // ssh2 parses a batch of packets in one go: 'exit' and even 'close' can fire before an await resumes,
    // so they are recorded right in the callback and awaitExit starts from what already happened
    const ch = await new Promise<ClientChannel>((res, rej) => this.client.exec(command, (err, c) => {
      if (err) return rej(new UnderstudyError('remote-command', `${this.where}: cannot run '${command}': ${err.message}`));
      const early: EarlyEvents = {};
      c.once('exit', (code: number | null, signal?: string) => { early.exit = { code: code ?? null, signal: signal ?? undefined }; });
      c.once('close', () => { early.closed = true; });
      earlyEvents.set(c, early);
      res(c);
    }));
    if (opts.stdin !== 'pipe') ch.end();
    const done = this.awaitExit(ch, command, opts);
    // Callers that only look at `done` after consuming stdout must not see an unhandled rejection meanwhile.
    done.catch(() => {});
    return { stdout: ch, stderr: ch.stderr, stdin: opts.stdin === 'pipe' ? ch : undefined, done };
  }

  private awaitExit(ch: ClientChannel, command: string, opts: { signal?: AbortSignal; timeoutMs?: number }) {
    return new Promise<ExecResult & { stderrTail: string }>((resolve, reject) => {
      let tail = '';
      ch.stderr.on('data', (c: Buffer) => { tail = (tail + c.toString('utf8')).slice(-STDERR_TAIL); });
      const early = earlyEvents.get(ch) ?? {};
      let exit: { code: number | null; signal?: string } | undefined = early.exit;
      let failure: UnderstudyError | undefined;
      const stop = (e: UnderstudyError) => {
        failure ??= e;
        try { ch.signal('KILL'); } catch { /* not every server honours signals */ }
        ch.close();
      };
      const onAbort = () => stop(new UnderstudyError('cancelled', `${this.where}: '${command}' cancelled`));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.signal?.aborted) onAbort(); // aborted while the channel was opening
      const timer = opts.timeoutMs === undefined ? undefined : setTimeout(
        () => stop(new UnderstudyError('timeout', `${this.where}: '${command}' still running after ${opts.timeoutMs} ms`)),
        opts.timeoutMs);
      ch.on('exit', (code: number | null, signal?: string) => { exit = { code: code ?? null, signal: signal ?? undefined }; });
      const onClose = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (failure) return reject(failure);
        if (!exit && this.lost) return reject(new UnderstudyError('remote-command', `${this.where}: connection lost while running '${command}'`));
        const r: ExecResult & { stderrTail: string } = { exitCode: exit?.code ?? null, stderrTail: tail };
        if (exit?.signal) r.signal = exit.signal;
        resolve(r);
      };
      if (early.closed) onClose(); else ch.on('close', onClose);
    });
  }

  /** A TCP connection opened by the remote side to host:port (direct-tcpip), e.g. to the remote loopback. */
  tunnel(host: string, port: number): Promise<Duplex> {
    if (this.isClosed) return Promise.reject(new UnderstudyError('remote-command', `${this.where}: connection is closed`));
    return new Promise((resolve, reject) => this.client.forwardOut('127.0.0.1', 0, host, port, (err, ch) => {
      if (err) reject(new UnderstudyError('remote-command', `${this.where}: cannot reach ${host}:${port} from there: ${err.message}`));
      else resolve(ch);
    }));
  }

  /** Listens on the remote side (bindAddr, a port it picks); each connection made there comes to onConnection. */
  listenRemote(bindAddr: string, onConnection: (conn: Duplex) => void): Promise<{ port: number; close(): Promise<void> }> {
    if (this.isClosed) return Promise.reject(new UnderstudyError('remote-command', `${this.where}: connection is closed`));
    return new Promise((resolve, reject) => this.client.forwardIn(bindAddr, 0, (err, port) => {
      if (err) return reject(new UnderstudyError('remote-command', `${this.where}: cannot listen on ${bindAddr} there: ${err.message}`));
      this.remoteListeners.set(port, onConnection);
      resolve({
        port,
        close: () => new Promise<void>((done) => {
          this.remoteListeners.delete(port);
          if (this.isClosed) return done();
          this.client.unforwardIn(bindAddr, port, () => done());
        }),
      });
    }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.lost) return;
    await new Promise<void>((resolve) => {
      this.client.once('close', () => resolve());
      this.client.end();
      setTimeout(resolve, 2000).unref();
    });
  }
}
