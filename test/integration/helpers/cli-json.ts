// Runs the understudy CLI as an operator would (`--json`), in its own process, and returns its exit code,
// its final result line and the tail of its output. TMPDIR can be private to the test, so whatever the
// run leaves behind (sandbox overlays, temp dirs) is the test's to count.
import { spawn } from 'node:child_process';

const CLI = new URL('../../../bin/understudy.mjs', import.meta.url).pathname;

export interface CliRun { code: number | null; result: Record<string, any>; stderr: string }

export function cliJson(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '', err = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { err += c; });
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '{}';
      let result: Record<string, any> = {};
      try { result = JSON.parse(last); } catch { result = { unparsable: last }; }
      resolve({ code, result, stderr: err + out.slice(-4000) });
    });
  });
}
