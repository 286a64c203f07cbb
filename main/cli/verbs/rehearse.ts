// `understudy rehearse TARGET --run CMD [--check CMD]... [--mirror DIR|URL] [--hypervisor qemu|libvirt]
//  [--libvirt-uri URI] [--kernel F --initrd F] [--reboot-rehearsal auto|always|never]`: the upgrade on a sandbox clone; the host is never written.
// The same workflow as `upgrade` (kind 'rehearse': it ends after the second capture), so a rehearsal is a
// run like any other: in `runs`/`show`, resumable, cancellable, visible in the UI.
// Exit 0 when every check passed, 4 when one failed (the report is still printed), else the error's code.
import type { Verb } from '../verb.ts';
import { RunService } from '../../app/runs/run-service.ts';
import { stageServicesFor } from '../../app/runs/stage-services-registry.ts';
import { RunStore } from '../../app/run-store/run-store.ts';
import type { RunInput } from '../../core/workflow/run-types.ts';
import type { RunResult } from '../../core/workflow/run-result.ts';
import { parseTarget } from '../../core/domain/map-target.ts';
import { driveRunFromCli } from '../render/cli-run-driver.ts';
import { addSandboxOptions, adapterOptions, parseRebootRehearsal } from './upgrade-options.ts';
import { checkSandboxOptions } from './sandbox-option-checks.ts';
import { rebootSummary } from '../../core/workflow/reboot-rehearsal.ts';
import { networkLines } from '../render/network-lines.ts';

/** The rehearsal's report for a person: what the upgrade did in the sandbox. */
export function rehearsalReport(r: RunResult): string {
  const lines = [`run ${r.run} (${r.hypervisor ?? '?'}, ${r.accel ?? '?'})`, `map1 ${r.map1 ?? '-'}`, `map2 ${r.map2 ?? '-'}`];
  for (const p of r.packages?.upgraded ?? []) lines.push(`  upgraded  ${p.name} ${p.from} -> ${p.to}`);
  for (const p of r.packages?.installed ?? []) lines.push(`  installed ${p.name} ${p.to ?? ''}`.trimEnd());
  for (const p of r.packages?.removed ?? []) lines.push(`  removed   ${p.name} ${p.from ?? ''}`.trimEnd());
  if (r.delta) lines.push(`files: ${r.delta.added.length} added, ${r.delta.changed.length} changed, ${r.delta.removed.length} removed`);
  for (const c of r.checks ?? []) lines.push(`  check ${c.ok ? 'ok    ' : 'FAILED'} (exit ${c.exitCode}) ${c.cmd}`);
  if (r.reboot) lines.push(rebootSummary(r.reboot));
  if (r.reboot?.kernel) lines.push(`  booted ${r.reboot.kernel.path}: ${r.reboot.kernel.chosenBy}`);
  for (const c of r.reboot?.checks ?? []) lines.push(`  check ${c.ok ? 'ok    ' : 'FAILED'} (exit ${c.exitCode}) ${c.cmd}  (after the reboot)`);
  if (r.reboot?.ok === false && r.reboot.consoleTail) lines.push('  console (last lines):', ...r.reboot.consoleTail.split('\n').map((l) => `    ${l}`));
  lines.push(...networkLines(r.network, '  '));
  lines.push(`timings: ${Object.entries(r.timings).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}`);
  return lines.join('\n');
}

export const rehearseVerb: Verb = {
  name: 'rehearse',
  summary: 'capture, boot in a sandbox, upgrade, check, capture again; the host is never touched',
  configure: (c) => addSandboxOptions(c
    .argument('<target>', 'dir:PATH | ssh://USER@HOST[:PORT] | local')
    .requiredOption('--run <cmd>', 'the upgrade command, run in the sandbox')),
  async run(rt, args, opts) {
    const target = args[0]!;
    parseTarget(target); // usage error before anything is created
    checkSandboxOptions(opts);
    const store = new RunStore(rt.store);
    const svc = new RunService({ store, services: (input: RunInput) => stageServicesFor(input, rt.store) });
    try {
      const handle = svc.startRun('rehearse', {
        target, command: opts.run, checks: opts.check, health: [], yes: false, reboot: 'never',
        rebootRehearsal: parseRebootRehearsal(opts.rebootRehearsal), options: adapterOptions(opts),
      });
      if (!rt.out.json) {
        void handle.finished.then((f) => { if (f.result.packages) process.stdout.write(rehearsalReport(f.result) + '\n'); }, () => undefined);
      }
      return await driveRunFromCli(rt, svc, handle);
    } finally {
      await svc.close();
      store.close();
    }
  },
};
