// A sandbox command whose output goes to the run's log line by line and into RUN_DIR/output.log (the
// upgrade, the checks, the checks again after the reboot rehearsal).
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RemoteShell } from '../../core/ports/remote-shell.port.ts';
import type { StageIo } from '../../core/workflow/stage-services.ts';
import { lineSplitter } from './line-splitter.ts';
import { withProxyEnv } from '../../adapters/proxy/guest-forward.ts';

/** Runs a sandbox command (with understudy's repository proxy in its environment: http_proxy ...) with its
 *  output streamed to the run's log and kept in RUN_DIR/output.log. */
export async function streamed(shell: RemoteShell, cmd: string, source: string, io: StageIo, signal: AbortSignal, runDir: string) {
  await mkdir(runDir, { recursive: true });
  const file = createWriteStream(join(runDir, 'output.log'), { flags: 'a' });
  file.on('error', () => undefined); // the run's log in the store still has every line
  file.write(`$ ${cmd}\n`);
  io.log('info', source, `$ ${cmd}`);
  const split = (stream: 'stdout' | 'stderr') => lineSplitter((line) => io.log(stream, source, line));
  const out = split('stdout'), err = split('stderr');
  const keep = (into: typeof out) => (c: Uint8Array) => { file.write(c); into.push(Buffer.from(c).toString()); };
  try {
    return await shell.exec(withProxyEnv(cmd), { signal, onStdout: keep(out), onStderr: keep(err) });
  } finally {
    out.flush();
    err.flush();
    await new Promise<void>((resolve) => file.end(resolve));
  }
}
