// A test double of the RemoteShell port that can only exec (no execStream), over `sh -c` on this machine:
// it drives capture-remote's fallback for shells that cannot stream, without a network hop.
import { spawn } from 'node:child_process';
import { UnderstudyError } from '../../../../main/core/domain/errors.ts';
import type { ExecOptions, ExecResult, RemoteShell } from '../../../../main/core/ports/remote-shell.port.ts';

export function execOnlyShell(): RemoteShell {
  const exec = (command: string, opts: ExecOptions = {}): Promise<ExecResult> => new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'], signal: opts.signal });
    const timer = opts.timeoutMs ? setTimeout(() => { child.kill('SIGKILL'); reject(new UnderstudyError('timeout', `'${command}' timed out`)); }, opts.timeoutMs) : undefined;
    child.stdout.on('data', (c: Buffer) => opts.onStdout?.(c));
    child.stderr.on('data', (c: Buffer) => opts.onStderr?.(c));
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ exitCode: code, ...(signal ? { signal } : {}) }); });
    child.stdin.on('error', () => undefined); // the command may exit without reading its stdin
    child.stdin.end(opts.stdin ?? '');
  });
  return {
    exec,
    async run(command, opts = {}) {
      let stdout = '', stderr = '';
      const r = await exec(command, { ...opts, onStdout: (c) => { stdout += Buffer.from(c).toString(); }, onStderr: (c) => { stderr += Buffer.from(c).toString(); } });
      return { ...r, stdout, stderr };
    },
    async close() { /* nothing to close */ },
  };
}
