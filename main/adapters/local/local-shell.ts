// RemoteShell on this machine (the `local` target): every command runs through /bin/sh -c, with the
// semantics of the ssh adapter's SshShell, so the shell-based swap seam works unchanged:
//   exec/run: streamed stdout/stderr, stdin then EOF (EOF at once without stdin), exit code or signal
//   ('SIGKILL', as the ssh adapter reports it); timeoutMs -> 'timeout', AbortSignal -> 'cancelled';
//   execStream: stdout with back-pressure, stderr always drained (its tail comes back in `done`).
// Each command leads its own process group (and session), so a timeout or cancel kills everything it
// started, and the operator's Ctrl-C reaches understudy, not a host agent in the middle of its renames.
// close() kills what still runs, as a dropped SSH connection ends its commands.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { ExecOptions, ExecResult, RemoteShell } from '../../core/ports/remote-shell.port.ts';
import type { ExecStream } from '../ssh/ssh-shell.ts';
import { runCollected } from './run-collected.ts';

const STDERR_TAIL = 16 * 1024;
const WHERE = 'local';

export class LocalShell implements RemoteShell {
  private closed = false;
  /** Commands still running, each with its stop (kills its process group, fails its result). */
  private readonly running = new Map<ChildProcessWithoutNullStreams, (e: UnderstudyError) => void>();

  get isClosed(): boolean { return this.closed; }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const { stdout, stderr, stdin, done } = await this.execStream(command, {
      signal: opts.signal, timeoutMs: opts.timeoutMs, stdin: opts.stdin === undefined ? undefined : 'pipe' });
    if (opts.onStdout) stdout.on('data', (c: Buffer) => opts.onStdout!(c)); else stdout.resume();
    if (opts.onStderr) stderr.on('data', (c: Buffer) => opts.onStderr!(c));
    if (stdin) {
      stdin.on('error', () => undefined); // the command may exit without reading all of its stdin
      stdin.end(opts.stdin);
    }
    const { exitCode, signal } = await done;
    return signal ? { exitCode, signal } : { exitCode };
  }

  run(command: string, opts: Omit<ExecOptions, 'onStdout' | 'onStderr'> = {}) {
    return runCollected(this, WHERE, command, opts);
  }

  /** Starts the command; resolves once it runs. Without stdin: 'pipe' its stdin gets EOF at once. */
  async execStream(command: string, opts: { signal?: AbortSignal; timeoutMs?: number; stdin?: 'pipe' } = {}): Promise<ExecStream> {
    if (opts.signal?.aborted) throw new UnderstudyError('cancelled', `${WHERE}: '${command}' cancelled`);
    if (this.closed) throw new UnderstudyError('remote-command', `${WHERE}: shell is closed`);
    const child = spawn('/bin/sh', ['-c', command], { stdio: 'pipe', detached: true });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (e) => reject(new UnderstudyError('remote-command', `${WHERE}: cannot run '${command}': ${e.message}`)));
    });
    if (opts.stdin !== 'pipe') { child.stdin.on('error', () => undefined); child.stdin.end(); }
    const done = this.awaitExit(child, command, opts);
    // callers that only look at `done` after consuming stdout must not see an unhandled rejection meanwhile
    done.catch(() => {});
    return { stdout: child.stdout, stderr: child.stderr, stdin: opts.stdin === 'pipe' ? child.stdin : undefined, done };
  }

  private awaitExit(child: ChildProcessWithoutNullStreams, command: string, opts: { signal?: AbortSignal; timeoutMs?: number }) {
    return new Promise<ExecResult & { stderrTail: string }>((resolve, reject) => {
      let tail = '';
      child.stderr.on('data', (c: Buffer) => { tail = (tail + c.toString('utf8')).slice(-STDERR_TAIL); });
      let failure: UnderstudyError | undefined;
      let settled = false;
      const settle = () => {
        settled = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        this.running.delete(child);
      };
      // a stopped command is over once its shell has exited: a grandchild that left the group may still
      // hold the pipes open, and nobody reads them any more
      const fail = () => {
        if (settled) return;
        settle();
        child.stdout.destroy(); child.stderr.destroy();
        reject(failure);
      };
      const stop = (e: UnderstudyError) => {
        failure ??= e;
        killGroup(child);
        if (child.exitCode !== null || child.signalCode !== null) fail();
      };
      this.running.set(child, stop);
      const onAbort = () => stop(new UnderstudyError('cancelled', `${WHERE}: '${command}' cancelled`));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = opts.timeoutMs === undefined ? undefined : setTimeout(
        () => stop(new UnderstudyError('timeout', `${WHERE}: '${command}' still running after ${opts.timeoutMs} ms`)),
        opts.timeoutMs);
      if (opts.signal?.aborted) onAbort(); // aborted while the process was starting
      // closed while the process was starting: close() did not see it yet
      if (this.closed) stop(new UnderstudyError('remote-command', `${WHERE}: shell closed while a command ran`));
      child.once('exit', () => { if (failure) fail(); });
      // otherwise (as over SSH) the result comes once its output is complete
      child.once('close', (code, signal) => {
        if (failure) return fail();
        if (settled) return;
        settle();
        const r: ExecResult & { stderrTail: string } = { exitCode: code, stderrTail: tail };
        if (signal) r.signal = signal;
        resolve(r);
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const stop of this.running.values()) stop(new UnderstudyError('remote-command', `${WHERE}: shell closed while a command ran`));
  }
}

function killGroup(child: ChildProcessWithoutNullStreams): void {
  try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
}
