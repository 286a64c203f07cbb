// Options shared by the verbs that drive a sandbox run (upgrade; batch reads the same from its fleet file).
import type { Command } from 'commander';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { RebootPolicy, RebootRehearsalPolicy } from '../../core/workflow/run-types.ts';

export const collect = (v: string, acc: string[]) => [...acc, v];
/** Like collect, but the option stays undefined when it is not given. */
export const collectOptional = (v: string, acc: string[] | undefined) => [...(acc ?? []), v];

export function addSandboxOptions(c: Command): Command {
  return c
    .option('--check <cmd>', 'a check run in the sandbox after --run; repeatable', collect, [] as string[])
    .option('--allow-host <host[:port]>', "a host the sandbox may reach besides the host's own repositories (no port: 80 and 443); " +
      'repeatable. Naming a loopback or private address here is what allows it', collect, [] as string[])
    .option('--mirror <[source=]dir|url>', "a local copy of the host's http repositories (offline hosts): stands in for every http " +
      'source, or only for SOURCE_URI=; repeatable', collect, [] as string[])
    .option('--upgrade-timeout <minutes>', 'how long --run may take in the sandbox (default 30; a release upgrade on a slow host needs more)')
    .option('--upstream-proxy <url>', "send the sandbox's allowed traffic through this http:// proxy (default: understudy's own http_proxy/https_proxy)")
    .option('--hypervisor <kind>', 'qemu (default) or libvirt')
    .option('--libvirt-uri <uri>', 'libvirt connection for --hypervisor libvirt (default qemu:///system); repeat it for a pool '
      + 'of hypervisors (qemu+ssh://USER@HOST/system ...): docs/pool.md', collectOptional)
    .option('--kernel <file>', "boot this kernel instead of the map's newest /boot/vmlinuz-*")
    .option('--initrd <file>', 'with --kernel: its initrd')
    .option('--reboot-rehearsal <when>', 'reboot the sandbox after the upgrade: auto (when kernel, initrd, modules, libc, '
      + 'systemd, fstab, crypttab, bootloader or unit enablement changed; the rule --reboot auto uses), always, never', 'auto')
    .option('--exclude <path>', 'leave this path out of the capture; repeatable', collect, [] as string[])
    .option('--identity <file>', 'SSH private key for an ssh:// target (default: ssh-agent)')
    .option('--accept-new-host-key', 'record an unknown SSH host key instead of refusing it');
}

/** --prefer host|sandbox PATH, repeatable: commander collects the words; they come in pairs. */
export function parsePrefer(words: string[] | undefined): Record<string, 'host' | 'sandbox'> {
  const out: Record<string, 'host' | 'sandbox'> = {};
  const w = words ?? [];
  if (w.length % 2) throw new UnderstudyError('usage', '--prefer takes two words: host|sandbox PATH');
  for (let i = 0; i < w.length; i += 2) {
    const side = w[i]!, path = w[i + 1]!.replace(/^\/+/, '');
    if (side !== 'host' && side !== 'sandbox') throw new UnderstudyError('usage', `--prefer: '${side}' is not host or sandbox`);
    out[path] = side;
  }
  return out;
}

export function parseReboot(v: string | undefined): RebootPolicy {
  const r = v ?? 'auto';
  if (r !== 'auto' && r !== 'never' && r !== 'always') throw new UnderstudyError('usage', `--reboot must be auto, never or always, not '${r}'`);
  return r;
}

export function parseRebootRehearsal(v: string | undefined): RebootRehearsalPolicy {
  const r = v ?? 'auto';
  if (r !== 'auto' && r !== 'never' && r !== 'always') throw new UnderstudyError('usage', `--reboot-rehearsal must be auto, always or never, not '${r}'`);
  return r;
}

/** Adapter options the workflow passes through to the stage services untouched. */
export function adapterOptions(opts: Record<string, any>): Record<string, unknown> {
  const pick = ['upstreamProxy', 'hypervisor', 'libvirtUri', 'kernel', 'initrd', 'identity', 'acceptNewHostKey'] as const;
  const o: Record<string, unknown> = {};
  for (const k of pick) if (opts[k] !== undefined) o[k] = opts[k];
  for (const k of ['exclude', 'mirror', 'allowHost'] as const) if (opts[k]?.length) o[k] = opts[k];
  if (opts.upgradeTimeout !== undefined) o.upgradeTimeoutMin = Number(opts.upgradeTimeout);
  return o;
}
