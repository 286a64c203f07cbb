// Up-front checks of the options that steer a sandbox run (rehearse, upgrade, batch). The adapters check
// the same things, but only when the run reaches them (the hypervisor at boot, --kernel after the disk is
// built, --mirror when the VM starts): minutes of capture later, and recorded as a failed run. A mistyped
// option is a usage error (exit 2) before any run exists.
import { statSync } from 'node:fs';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { relayCommandForUrl } from '../../adapters/mirror/relay-command.ts';
import { checkExcludes } from '../exclude-option.ts';
import { parseRebootRehearsal } from './upgrade-options.ts';

const usage = (message: string) => new UnderstudyError('usage', message);

function requireFile(flag: string, path: string): void {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st?.isFile()) throw usage(`${flag} ${path}: ${st ? 'not a regular file' : 'no such file'}`);
}

/** --hypervisor/--libvirt-uri/--identity: what batch takes as well as rehearse and upgrade. */
export function checkHypervisorOptions(opts: Record<string, any>): void {
  const kind = opts.hypervisor as string | undefined;
  if (kind !== undefined && kind !== 'qemu' && kind !== 'libvirt') throw usage(`--hypervisor must be qemu or libvirt, not '${kind}'`);
  if (opts.libvirtUri !== undefined && kind !== 'libvirt') throw usage('--libvirt-uri needs --hypervisor libvirt');
  if (opts.identity !== undefined) requireFile('--identity', String(opts.identity));
}

/** Every option addSandboxOptions adds. */
export function checkSandboxOptions(opts: Record<string, any>): void {
  checkHypervisorOptions(opts);
  checkExcludes((opts.exclude as string[] | undefined) ?? []);
  parseRebootRehearsal(opts.rebootRehearsal);
  if (opts.initrd !== undefined && opts.kernel === undefined) throw usage('--initrd needs --kernel');
  for (const flag of ['kernel', 'initrd'] as const) if (opts[flag] !== undefined) requireFile(`--${flag}`, String(opts[flag]));
  const mirror = opts.mirror as string | undefined;
  if (mirror === undefined) return;
  if (/^[a-z]+:\/\//i.test(mirror)) { // the sandbox's own rule for URL vs directory (sandbox-vm.ts)
    relayCommandForUrl(mirror); // throws the usage error for a URL it cannot relay
    return;
  }
  if (!statSync(mirror, { throwIfNoEntry: false })?.isDirectory()) throw usage(`--mirror ${mirror}: not a directory (give a directory or an http:// URL)`);
}
