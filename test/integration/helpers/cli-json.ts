// Runs the understudy CLI as an operator would (`--json`), in its own process, and returns its exit code,
// its final result line and the tail of its output. TMPDIR can be private to the test, so whatever the
// run leaves behind (sandbox overlays, temp dirs) is the test's to count. With `deadlineMs`, a process
// that has not exited by then is killed and reported as `timedOut` (a verb must exit by itself).
import { spawn, type ChildProcess } from 'node:child_process';

const CLI = new URL('../../../bin/understudy.mjs', import.meta.url).pathname;

export interface CliRun { code: number | null; result: Record<string, any>; stderr: string; lines: string[]; timedOut: boolean }

/** The CLI started, not awaited: `done` resolves once it exited (kill it with `child.kill`). */
export function spawnCli(args: string[], env: Record<string, string> = {}, o: { deadlineMs?: number } = {}): { child: ChildProcess; done: Promise<CliRun> } {
  const child = spawn(process.execPath, [CLI, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const done = new Promise<CliRun>((resolve) => {
    let out = '', err = '', timedOut = false;
    const timer = o.deadlineMs ? setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, o.deadlineMs) : undefined;
    child.stdout!.on('data', (c) => { out += c; });
    child.stderr!.on('data', (c) => { err += c; });
    child.on('exit', (code) => {
      clearTimeout(timer);
      const lines = out.trim().split('\n');
      const last = lines[lines.length - 1] ?? '{}';
      let result: Record<string, any> = {};
      try { result = JSON.parse(last); } catch { result = { unparsable: last }; }
      resolve({ code, result, stderr: err + out.slice(-4000), lines, timedOut });
    });
  });
  return { child, done };
}

export function cliJson(args: string[], env: Record<string, string> = {}, o: { deadlineMs?: number } = {}): Promise<CliRun> {
  return spawnCli(args, env, o).done;
}
