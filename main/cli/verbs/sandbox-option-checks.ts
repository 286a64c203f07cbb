// Up-front checks of the options that steer a sandbox run (rehearse, upgrade, batch). The adapters check
// the same things, but only when the run reaches them (the hypervisor at boot, --kernel after the disk is
// built, --mirror and --allow-host when the VM starts): minutes of capture later, and recorded as a failed run. A mistyped
// option is a usage error (exit 2) before any run exists.
import { statSync } from 'node:fs';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { checkNetworkChoices, networkChoices } from '../../adapters/proxy/sandbox-network.ts';
import { checkExcludes } from '../exclude-option.ts';
import { parsePool } from '../../core/domain/pool-spec.ts';
import { libvirtUris } from '../../app/stage-services/sandbox-pools.ts';
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
  if (opts.libvirtUri !== undefined) parsePool(libvirtUris(opts.libvirtUri)); // a URI that cannot be a pool member
  if (opts.identity !== undefined) requireFile('--identity', String(opts.identity));
}

/** Every option addSandboxOptions adds. */
export function checkSandboxOptions(opts: Record<string, any>): void {
  checkHypervisorOptions(opts);
  checkExcludes((opts.exclude as string[] | undefined) ?? []);
  parseRebootRehearsal(opts.rebootRehearsal);
  if (opts.initrd !== undefined && opts.kernel === undefined) throw usage('--initrd needs --kernel');
  for (const flag of ['kernel', 'initrd'] as const) if (opts[flag] !== undefined) requireFile(`--${flag}`, String(opts[flag]));
  if (opts.upgradeTimeout !== undefined) {
    const m = Number(opts.upgradeTimeout);
    if (!Number.isFinite(m) || m <= 0 || m > 24 * 60) throw usage(`--upgrade-timeout must be minutes between 1 and 1440, not '${opts.upgradeTimeout}'`);
  }
  const net = networkChoices(opts);
  checkNetworkChoices(net); // --allow-host, --mirror and --upstream-proxy as the sandbox will read them
  for (const m of net.mirror ?? []) {
    const dir = m.replace(/^[a-z][a-z0-9+.-]*:\/\/[^=\s]+=/i, '');
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(dir)) continue; // a mirror URL is checked against the host's suites before boot
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      throw usage(`--mirror ${m}: ${dir === m ? 'not a directory' : `${dir} is not a directory`} (give a directory or an http:// URL)`);
    }
  }
}
