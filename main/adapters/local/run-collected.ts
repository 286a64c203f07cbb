// RemoteShell.run() for any shell with exec(): collects stdout and stderr, but stops the command once
// its output passes RUN_LIMIT (run() is for small outputs; big ones stream through exec()).
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { ExecOptions, ExecResult } from '../../core/ports/remote-shell.port.ts';

export const RUN_LIMIT = 64 * 1024 * 1024;

export async function runCollected(shell: { exec(command: string, opts?: ExecOptions): Promise<ExecResult> }, where: string,
  command: string, opts: Omit<ExecOptions, 'onStdout' | 'onStderr'> = {}): Promise<ExecResult & { stdout: string; stderr: string }> {
  const out: Buffer[] = []; const err: Buffer[] = [];
  let size = 0;
  const ac = new AbortController();
  const keep = (into: Buffer[]) => (c: Uint8Array) => {
    size += c.length;
    if (size > RUN_LIMIT) ac.abort(); else into.push(Buffer.from(c));
  };
  const signal = opts.signal ? AbortSignal.any([opts.signal, ac.signal]) : ac.signal;
  try {
    const r = await shell.exec(command, { ...opts, signal, onStdout: keep(out), onStderr: keep(err) });
    return { ...r, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
  } catch (e) {
    if (ac.signal.aborted) throw new UnderstudyError('remote-command', `${where}: output of '${command}' exceeds ${RUN_LIMIT} bytes; stream it with exec()`);
    throw e;
  }
}
