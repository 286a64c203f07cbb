// `understudy rehearse TARGET --run CMD [--check CMD]... [--mirror DIR|URL] [--hypervisor qemu|libvirt]
//  [--libvirt-uri URI] [--kernel F --initrd F]`: the upgrade on a sandbox clone; the host is never written.
// Exit 0 when every check passed, 4 when one failed (the report is still printed), else the error's code.
import type { Command } from 'commander';
import type { Verb } from '../verb.ts';
import { printFailure, printResult } from '../output.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { Hypervisor } from '../../core/ports/hypervisor.port.ts';
import { QemuHypervisor } from '../../adapters/qemu/qemu-hypervisor.ts';
import { LibvirtHypervisor, DEFAULT_LIBVIRT_URI } from '../../adapters/libvirt/index.ts';
import { sshConnector } from '../../app/stage-services/ssh-connector.ts';
import { newRunId, rehearse, type RehearseResult } from '../../adapters/sandbox/rehearse.ts';

const collect = (v: string, acc: string[]) => [...acc, v];

export function makeHypervisor(kind: string | undefined, uri: string | undefined): Hypervisor {
  if (!kind || kind === 'qemu') {
    if (uri) throw new UnderstudyError('usage', '--libvirt-uri needs --hypervisor libvirt');
    return new QemuHypervisor();
  }
  if (kind === 'libvirt') return new LibvirtHypervisor({ uri: uri ?? DEFAULT_LIBVIRT_URI });
  throw new UnderstudyError('usage', `--hypervisor must be qemu or libvirt, not '${kind}'`);
}

function human(r: Record<string, unknown>): string {
  const x = r as unknown as RehearseResult;
  const lines = [`run ${x.run} (${x.hypervisor}, ${x.accel ?? '?'})`, `map1 ${x.map1}`, `map2 ${x.map2 ?? '-'}`];
  for (const p of x.packages.upgraded) lines.push(`  upgraded  ${p.name} ${p.from} -> ${p.to}`);
  for (const p of x.packages.installed) lines.push(`  installed ${p.name} ${p.version}`);
  for (const p of x.packages.removed) lines.push(`  removed   ${p.name} ${p.version}`);
  lines.push(`files: ${x.delta.added.length} added, ${x.delta.changed.length} changed, ${x.delta.removed.length} removed`);
  for (const c of x.checks) lines.push(`  check ${c.ok ? 'ok    ' : 'FAILED'} (exit ${c.exitCode}) ${c.cmd}`);
  lines.push(`timings: ${Object.entries(x.timings).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}`);
  return lines.join('\n');
}


export const rehearseVerb: Verb = {
  name: 'rehearse',
  summary: 'capture, boot in a sandbox, upgrade, check, capture again; the host is never touched',
  configure: (c: Command) => c
    .argument('<target>', 'dir:PATH | ssh://USER@HOST[:PORT] | local')
    .requiredOption('--run <cmd>', 'the upgrade command, run in the sandbox')
    .option('--check <cmd>', 'a check run in the sandbox after --run; repeatable', collect, [] as string[])
    .option('--mirror <dir|url>', 'package mirror the sandbox may reach (as http://10.0.2.100/): a directory served on loopback, or an http:// URL relayed')
    .option('--hypervisor <kind>', 'qemu (default) or libvirt')
    .option('--libvirt-uri <uri>', `libvirt connection (default ${DEFAULT_LIBVIRT_URI})`)
    .option('--kernel <file>', 'boot this kernel instead of the map\'s newest /boot/vmlinuz-*')
    .option('--initrd <file>', 'with --kernel: its initrd')
    .option('--identity <file>', 'SSH private key for an ssh:// target (default: ssh-agent)')
    .option('--accept-new-host-key', 'record an unknown SSH host key instead of refusing it'),
  async run(rt, args, opts) {
    const target = args[0]!;
    const hypervisor = makeHypervisor(opts.hypervisor, opts.libvirtUri);
    const runId = newRunId();
    const result = await rehearse({
      runId, store: rt.store, target, run: opts.run, checks: opts.check, hypervisor, mirror: opts.mirror,
      kernel: opts.kernel, initrd: opts.initrd, connect: sshConnector(rt.store, { identity: opts.identity, acceptNewHostKey: Boolean(opts.acceptNewHostKey) }, rt.signal), signal: rt.signal,
      onStage: (stage, state, seconds) => {
        rt.out.event({ type: 'stage', run: runId, stage, state, ...(seconds !== undefined ? { seconds } : {}) });
        rt.out.info(state === 'active' ? `${stage} ...` : `${stage} ${state}${seconds !== undefined ? ` (${seconds.toFixed(1)} s)` : ''}`);
      },
      onOutput: (stream, text, source) => {
        rt.out.event({ type: 'log', run: runId, stream, source, text });
        if (!rt.out.json) process.stderr.write(text);
      },
    });
    const { runDir: _runDir, ok, ...fields } = result;
    if (ok) {
      printResult(rt.out, fields, human);
      return 0;
    }
    const failed = result.checks.filter((c) => !c.ok).map((c) => c.cmd);
    if (!rt.out.json) process.stdout.write(human(fields) + '\n');
    return printFailure(rt.out, new UnderstudyError('check-failed', `check failed in the sandbox (host untouched): ${failed.join('; ')}`), fields);
  },
};
