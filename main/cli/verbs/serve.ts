// `understudy serve [--port N]`: the web UI on 127.0.0.1 with a per-launch token; runs until Ctrl-C.
import type { Command } from 'commander';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { createEngine } from '../../server/engine.ts';
import type { RunEngine } from '../../server/run-engine.ts';
import { startServer, type RunningServer } from '../../server/http-server.ts';
import { ensureRendererDist } from '../../server/renderer-dist.ts';
import { printResult } from '../output.ts';
import type { Verb, VerbRuntime } from '../verb.ts';

export function parsePort(value: unknown): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UnderstudyError('usage', `--port must be an integer 0-65535, got '${String(value)}'`);
  return n;
}

/** Starts engine + server and announces the URL (NDJSON `serving` line with --json). */
export async function launchServer(rt: VerbRuntime, port: number): Promise<RunningServer & { engine: RunEngine }> {
  const distDir = await ensureRendererDist();
  const engine = await createEngine({ store: rt.store });
  const server = await startServer({ engine, distDir, port });
  const close = server.close;
  // Runs still in flight are cancelled (their sandboxes cleaned up) before the process exits.
  server.close = async () => { await close(); await engine.close(); };
  if (rt.out.json) process.stdout.write(JSON.stringify({ type: 'serving', url: server.url, port: server.port, token: server.token }) + '\n');
  else process.stdout.write(`${server.url}\n`);
  return Object.assign(server, { engine });
}

export const untilAborted = (signal: AbortSignal): Promise<void> =>
  signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

export const serve: Verb = {
  name: 'serve',
  summary: 'web UI on loopback: serve [--port N]; prints http://127.0.0.1:PORT/?token=TOKEN',
  configure: (cmd: Command) => cmd.option('--port <n>', 'port on 127.0.0.1 (default: a free one)'),
  async run(rt, _args, opts) {
    const server = await launchServer(rt, parsePort(opts.port));
    rt.out.info('serving on 127.0.0.1 only; Ctrl-C stops');
    await untilAborted(rt.signal);
    await server.close();
    printResult(rt.out, { url: `http://127.0.0.1:${server.port}/`, port: server.port }, () => 'stopped');
    return 0;
  },
};
