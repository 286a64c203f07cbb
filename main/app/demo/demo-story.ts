// The demo story on a real host VM, headless: 1.0 -> 2.0 through the sandbox and swapped (health ok);
// 2.0 -> 3.0 caught in the sandbox by its check (the host keeps 2.0: the files that upgrade would have
// changed are re-read and compared); rollback to 1.0. Each step reports outcome, version and seconds.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { diffMaps } from '../../core/domain/map-diff.ts';
import type { RunInput } from '../../core/workflow/run-types.ts';
import { isRuntimeState } from '../../adapters/sandbox/sandbox-edits.ts';
import { capture } from '../../adapters/capture/capture.ts';
import { loadMap } from '../../adapters/store/map-store.ts';
import { mirrorImage } from '../../adapters/qemu/image-cache.ts';
import { connectSsh } from '../../adapters/ssh/index.ts';
import { RunService } from '../runs/run-service.ts';
import type { RunnerEvent } from '../runs/runner.ts';
import { stageServicesFor } from '../runs/stage-services-registry.ts';
import { openTargetHost } from '../stage-services/open-target-host.ts';
import { rollbackLatest } from '../../adapters/swap/rollback.ts';
import { sshConnector } from '../stage-services/ssh-connector.ts';
import { bootDemoHost, type DemoHost } from './demo-host-vm.ts';

export interface DemoStep { name: string; outcome: string; version: string; seconds: number; run?: string; hostUnchanged?: boolean; hostChanges?: string[] }

export const HEALTH = 'curl -fsS http://127.0.0.1:8080/health';
export const installCmd = (v: string) =>
  `apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-downgrades hello-service=${v}`;

export interface DemoOptions {
  store: string;
  signal: AbortSignal;
  onEvent?(e: RunnerEvent): void;
  log?(line: string): void;
}

async function hostVersion(h: DemoHost, store: string): Promise<string> {
  const t = new URL(h.target);
  const shell = await connectSsh({ host: t.hostname, port: Number(t.port), username: 'root', privateKey: await readFile(h.identity),
    hostKeyPolicy: { kind: 'known-hosts', path: join(store, 'known_hosts'), acceptNew: true } });
  try {
    return (await shell.run('curl -s http://127.0.0.1:8080/version', { timeoutMs: 30_000 })).stdout.trim();
  } finally { await shell.close(); }
}

export async function runDemoStory(o: DemoOptions): Promise<{ steps: DemoStep[]; target: string }> {
  const mirror = (await mirrorImage({ build: true })).dir;
  const host = await bootDemoHost(join(o.store, 'demo'), o.signal, o.log);
  const svc = new RunService({ store: o.store, services: (input: RunInput) => stageServicesFor(input, o.store) });
  const off = o.onEvent ? svc.subscribe(o.onEvent) : undefined;
  const options = { mirror, identity: host.identity, acceptNewHostKey: true };
  const steps: DemoStep[] = [];
  const upgrade = async (name: string, version: string) => {
    const t0 = Date.now();
    o.log?.(`${name} ...`);
    const h = svc.startRun('upgrade', { target: host.target, command: installCmd(version), checks: [HEALTH], health: [HEALTH],
      yes: true, reboot: 'never', options });
    const onAbort = () => svc.cancel(h.runId, 'demo interrupted');
    o.signal.addEventListener('abort', onAbort, { once: true });
    const f = await h.finished.finally(() => o.signal.removeEventListener('abort', onAbort));
    const step: DemoStep = { name, outcome: f.outcome, version: await hostVersion(host, o.store), seconds: (Date.now() - t0) / 1000, run: h.runId };
    steps.push(step);
    return { step, result: f.result };
  };
  try {
    const first = await upgrade('upgrade 1.0 -> 2.0', '2.0');
    if (first.step.outcome !== 'upgraded') throw new UnderstudyError('internal', `demo: the 1.0 -> 2.0 upgrade ended ${first.step.outcome}`);
    const map1 = String(first.result.map1);

    const second = await upgrade('upgrade 2.0 -> 3.0', '3.0');
    if (second.result.map1) {
      // the host is untouched: re-captured now, it differs from the 3.0 run's map1 only in what a running
      // system rewrites by itself (logs, systemd state, temp dirs: the paths kept out of every map2 too)
      const before = (await loadMap(o.store, String(second.result.map1))).manifest;
      const now = await capture({ store: o.store, target: host.target, signal: o.signal,
        connect: sshConnector(o.store, { identity: host.identity, acceptNewHostKey: true }, o.signal) });
      const d = diffMaps(before, (await loadMap(o.store, now.map)).manifest, false);
      const changed = [...d.added, ...d.changed, ...d.removed].filter((p) => !isRuntimeState(p));
      second.step.hostUnchanged = changed.length === 0;
      if (changed.length) second.step.hostChanges = changed.slice(0, 20);
    }

    const t0 = Date.now();
    o.log?.('rollback to 1.0 ...');
    const target = await openTargetHost(host.target, o.store, { identity: host.identity, acceptNewHostKey: true });
    try {
      await rollbackLatest({ host: target, store: o.store, to: map1 });
    } finally { await target.close(); }
    steps.push({ name: 'rollback to 1.0', outcome: 'rolled-back', version: await hostVersion(host, o.store), seconds: (Date.now() - t0) / 1000 });
    return { steps, target: host.target };
  } finally {
    off?.();
    await svc.close();
    await host.close();
  }
}
