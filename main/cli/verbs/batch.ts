// `understudy batch FLEET.yaml`: canary hosts first, then --parallel at a time, stop past --max-fail;
// identical map1s share a rehearsal. Writes one JSON report per host under STORE/batches/<id>/.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Verb } from '../verb.ts';
import { printResult } from '../output.ts';
import { RunStore } from '../../app/run-store/run-store.ts';
import { runBatch } from '../../app/runs/batch-runner.ts';
import { readFleet } from '../../app/runs/fleet-file.ts';
import { newRunId } from '../../app/runs/run-id.ts';
import { stageServicesFor } from '../../app/runs/stage-services-registry.ts';
import { parseMaxFail } from '../../core/workflow/batch-plan.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { plainRunLines } from '../render/plain-run-lines.ts';

const count = (name: string, v: unknown, min: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UnderstudyError('usage', `--${name} must be a whole number >= ${min}, not '${v}'`);
  return n;
};

export const batchVerb: Verb = {
  name: 'batch',
  summary: 'upgrade a fleet: batch FLEET.yaml [--canary N] [--parallel N] [--max-fail N|P%] [--yes | --rehearse]',
  configure: (c) => c.argument('<fleet>', 'fleet file (YAML)')
    .option('--canary <n>', 'hosts that go first; all must pass', '1')
    .option('--parallel <n>', 'hosts at a time after the canary', '1')
    .option('--max-fail <n|p%>', 'stop starting hosts once failures exceed this', '0')
    .option('--yes', 'approve every host\'s review (required to upgrade)')
    .option('--rehearse', 'rehearse every host only; no host is changed')
    .option('--hypervisor <kind>', 'qemu (default) or libvirt')
    .option('--libvirt-uri <uri>', 'place the sandboxes on this libvirt host')
    .option('--identity <file>', 'SSH private key for ssh:// hosts'),
  async run(rt, args, opts) {
    const options = { canary: count('canary', opts.canary, 0), parallel: count('parallel', opts.parallel, 1), maxFail: parseMaxFail(String(opts.maxFail)) };
    const hosts = await readFleet(args[0]!);
    const kind = opts.rehearse ? 'rehearse' : 'upgrade';
    const batchId = newRunId();
    const store = new RunStore(rt.store);
    const lines = plainRunLines((l) => rt.out.info(l));
    try {
      const r = await runBatch({
        store, hosts, options, kind, yes: Boolean(opts.yes), signal: rt.signal,
        adapterOptions: Object.fromEntries(Object.entries({ hypervisor: opts.hypervisor, libvirtUri: opts.libvirtUri, identity: opts.identity })
          .filter(([, v]) => v !== undefined)),
        services: (input) => stageServicesFor(input, rt.store),
        listener: (e) => { if (rt.out.json) { if (e.type !== 'result') rt.out.event({ ...e }); } else if (e.type === 'stage' || e.type === 'log') lines(e); },
      });
      const dir = join(rt.store, 'batches', batchId);
      await mkdir(dir, { recursive: true });
      for (const h of r.hosts) await writeFile(join(dir, `${h.target.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`), JSON.stringify(h, null, 2) + '\n');
      const result = { batch: batchId, reports: dir, ...r, hosts: r.hosts.map(({ result: _r, ...h }) => h) };
      const code = r.ok ? 0 : Math.max(1, ...r.hosts.map((h) => h.exitCode));
      if (code === 0) {
        printResult(rt.out, result, () => r.hosts.map((h) => `${h.target}  ${h.outcome}${h.run ? `  (run ${h.run})` : ''}`).join('\n'));
      } else if (rt.out.json) {
        process.stdout.write(JSON.stringify({ type: 'result', ...result, error: { code: 'batch-failed', message: r.stopped ?? `${r.failed} hosts failed` } }) + '\n');
      } else {
        process.stderr.write(r.hosts.map((h) => `${h.target}  ${h.outcome}`).join('\n') + `\nbatch ${batchId}: ${r.stopped ?? `${r.failed} hosts failed`}\n`);
      }
      return code;
    } finally { store.close(); }
  },
};
