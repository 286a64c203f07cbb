// `understudy serve --json` as its own process: the CLI's composition root (with whatever stage services
// it wires) behind the real server, exactly as an operator starts it. Stopped with SIGINT, which cancels
// runs still in flight and cleans up their sandboxes before the process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface ServeProcess { url: string; port: number; token: string; child: ChildProcess; stderr(): string; stop(): Promise<void> }

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'understudy.mjs');

export async function spawnServe(store: string): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--json', '--store', store], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-20_000); });
  const first = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`understudy serve exited with ${code}: ${err}`)));
  });
  const serving = JSON.parse(first) as { type: string; url: string; port: number; token: string };
  if (serving.type !== 'serving') throw new Error(`unexpected first line from serve: ${first}`);
  return {
    ...serving, child, stderr: () => err,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.once('exit', () => { clearTimeout(kill); resolve(); });
      child.kill('SIGINT');
    }),
  };
}
