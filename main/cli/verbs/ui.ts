// `understudy ui`: the Electron window where Electron's binary exists; else the same UI in a Chromium
// --app window (fresh profile) served by `serve`; with no display, the URL with its token.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { ensureRendererDist } from '../../server/renderer-dist.ts';
import { printResult } from '../output.ts';
import type { Verb } from '../verb.ts';
import { launchServer, parsePort, untilAborted } from './serve.ts';

/** Electron's npm package resolves to its binary path, and throws when that binary was never downloaded. */
export function electronBinary(): string | undefined {
  try {
    const path = createRequire(import.meta.url)('electron') as unknown;
    return typeof path === 'string' && existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

export function chromiumBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return undefined;
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
}

/** Runs the window until it exits (or Ctrl-C); a failing exit reports the tail of its stderr. */
function runUntilExit(bin: string, args: string[], signal: AbortSignal, info: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
    const stop = () => child.kill('SIGTERM');
    signal.addEventListener('abort', stop, { once: true });
    child.on('exit', (code) => {
      signal.removeEventListener('abort', stop);
      if (code && !signal.aborted) info(`${bin} exited with ${code}:\n${stderr.trim().split('\n').slice(-10).join('\n')}`);
      resolve();
    });
    child.on('error', (err) => { info(`cannot start ${bin}: ${err.message}`); resolve(); });
  });
}

export const ui: Verb = {
  name: 'ui',
  summary: 'desktop app (Electron; else a Chromium app window; else prints the URL)',
  configure: (cmd: Command) => cmd.option('--port <n>', 'port for the web fallback (default: a free one)'),
  async run(rt, _args, opts) {
    const electron = electronBinary();
    if (electron) {
      rt.out.info('opening the Electron window');
      await ensureRendererDist();
      const script = pathToFileURL(join(import.meta.dirname, '..', '..', '..', 'electron', 'build.mjs')).href;
      const { buildElectron } = (await import(script)) as { buildElectron(): Promise<string> };
      await runUntilExit(electron, [await buildElectron()], rt.signal, rt.out.info);
      return 0;
    }
    const server = await launchServer(rt, parsePort(opts.port));
    const chromium = chromiumBinary();
    let shell = 'none';
    if (chromium) {
      shell = 'chromium';
      const profile = mkdtempSync(join(tmpdir(), 'understudy-ui-'));
      try {
        // Chromium refuses to run as root with its sandbox on; the page is our own loopback UI.
        const rootArgs = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
        await runUntilExit(chromium, [`--app=${server.url}`, `--user-data-dir=${profile}`, '--no-first-run',
          '--disable-background-networking', '--disable-component-update', '--disable-sync', '--window-size=1280,800', ...rootArgs],
        rt.signal, rt.out.info);
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    } else {
      rt.out.info('no Electron binary and no display: open the URL above in a browser on this machine; Ctrl-C stops');
      await untilAborted(rt.signal);
    }
    await server.close();
    printResult(rt.out, { shell, port: server.port }, () => 'stopped');
    return 0;
  },
};
