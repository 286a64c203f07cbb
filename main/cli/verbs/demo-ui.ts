// `understudy demo` with a face: boots the demo host VM, serves the UI, starts the 1.0 -> 2.0 upgrade
// on it (the operator approves in the Review screen), and opens the window (Chromium --app when there is
// a display; otherwise the URL is printed). Ctrl-C stops the UI, cancels what still runs, stops the VM.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VerbRuntime } from '../verb.ts';
import { bootDemoHost } from '../../app/demo/demo-host-vm.ts';
import { HEALTH, installCmd } from '../../app/demo/demo-story.ts';
import { mirrorImage } from '../../adapters/qemu/image-cache.ts';
import { chromiumBinary } from './ui.ts';
import { launchServer, parsePort, untilAborted } from './serve.ts';

export async function demoInUi(rt: VerbRuntime, opts: Record<string, any>): Promise<number> {
  const mirror = (await mirrorImage({ build: true })).dir;
  const host = await bootDemoHost(join(rt.store, 'demo'), rt.signal, rt.out.info);
  let server: Awaited<ReturnType<typeof launchServer>> | undefined;
  let profile: string | undefined;
  try {
    server = await launchServer(rt, parsePort(opts.port));
    const { run } = await server.engine.startRun({
      kind: 'upgrade', target: host.target, run: installCmd('2.0'), checks: [HEALTH], health: [HEALTH],
      hypervisor: 'qemu', mirror, identity: host.identity, acceptNewHostKey: true,
    });
    rt.out.info(`demo host ${host.target} (hello-service 1.0); upgrade run ${run} started: approve it in the Review screen`);
    const chromium = chromiumBinary();
    if (!chromium) {
      rt.out.info('no display: open the URL above in a browser on this machine; Ctrl-C stops');
      await untilAborted(rt.signal);
      return 0;
    }
    profile = mkdtempSync(join(tmpdir(), 'understudy-demo-ui-'));
    const child = spawn(chromium, [`--app=${server.url}#/run/${run}`, `--user-data-dir=${profile}`, '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--window-size=1280,800',
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])], { stdio: 'ignore' });
    const stop = () => child.kill('SIGTERM');
    rt.signal.addEventListener('abort', stop, { once: true });
    await new Promise<void>((r) => child.on('exit', () => r()));
    rt.signal.removeEventListener('abort', stop);
    return 0;
  } finally {
    await server?.close();
    await host.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  }
}
