// Real stage services with the VM taken out, for batch tests on dir: fleets: the "sandbox" is map1
// restored into a temp directory, the plan's command and checks run there by sh (cwd = that directory),
// and map2 is a real capture of it through effectiveMap2, as a rehearsal's. Everything else (capture,
// reconcile, swap, health) is the real services' own. It counts the sandboxes it "booted".
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { capture } from '../../../../main/adapters/capture/capture.ts';
import { restoreMap } from '../../../../main/adapters/restore/restore-map.ts';
import { loadMap, saveMap } from '../../../../main/adapters/store/map-store.ts';
import { effectiveMap2 } from '../../../../main/app/stage-services/effective-map2.ts';
import { diffMaps } from '../../../../main/core/domain/map-diff.ts';
import type { StageServices } from '../../../../main/core/workflow/stage-services.ts';

const run = promisify(execFile);

/** `boots`: the map1 of every sandbox booted; `gate`: boots wait for it (a test looks at the batch first). */
export interface DirSandboxes { boots: string[]; gate?: Promise<void> }

export function withDirSandbox(real: StageServices, store: string, scratch: string, counter: DirSandboxes): StageServices {
  const sh = async (cmd: string, dir: string) => {
    try { await run('sh', ['-ec', cmd], { cwd: dir }); return 0; } catch (e) { return (e as { code?: number }).code ?? 1; }
  };
  return {
    ...real,
    async buildImage({ map1 }) { return { image: `dir-sandbox:${map1}` }; },
    async bootSandbox({ map1 }) {
      await counter.gate;
      const dir = join(await mkdtemp(join(scratch, 'sandbox-')), 'root');
      await restoreMap(store, map1, dir);
      counter.boots.push(map1);
      return { sandbox: { id: dir }, hypervisor: 'dir', accel: 'none' };
    },
    async runUpgrade({ sandbox, command }) {
      const code = await sh(command, sandbox.id);
      if (code !== 0) throw Object.assign(new Error(`upgrade failed (exit ${code})`), { code: 'remote-command' });
      return { packages: { upgraded: [{ name: 'hello', from: '1.0-1', to: '2.0-1' }], installed: [], removed: [] } };
    },
    async runChecks({ sandbox, checks }) {
      const out = [];
      for (const cmd of checks) { const code = await sh(cmd, sandbox.id); out.push({ cmd, ok: code === 0, exitCode: code }); }
      return { checks: out };
    },
    async captureSandbox({ sandbox, map1 }) {
      const m1 = (await loadMap(store, map1)).manifest;
      const raw = (await loadMap(store, (await capture({ store, target: `dir:${sandbox.id}` })).map)).manifest;
      const eff = (await effectiveMap2(store, m1, raw)).manifest;
      return { map2: await saveMap(store, eff), delta: diffMaps(m1, eff, false) };
    },
    async releaseSandbox({ sandbox }) {
      if (sandbox?.id.startsWith(scratch)) await rm(join(sandbox.id, '..'), { recursive: true, force: true });
    },
  };
}
