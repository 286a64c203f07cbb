// SwapHost for the `local` target: the machine understudy runs on, through the same shell-based seam as
// ssh:// hosts (ssh-host.ts) over a LocalShell. Root is required (cli-contract): there is no sudo path,
// since a swap that changes the running system should be a deliberate `sudo understudy ...`.
import { UnderstudyError } from '../../core/domain/errors.ts';
import { openShellHost } from '../swap/ssh-host.ts';
import type { SwapHost } from '../swap/swap-host.ts';
import { LocalShell } from './local-shell.ts';

export async function openLocalHost(): Promise<SwapHost> {
  const uid = process.getuid?.();
  if (uid !== 0) {
    throw new UnderstudyError('bad-target', `the local target needs root (running as uid ${uid ?? 'unknown'}): run understudy with sudo, or use ssh://root@localhost`);
  }
  return openShellHost('local', 'local', new LocalShell(), '');
}
