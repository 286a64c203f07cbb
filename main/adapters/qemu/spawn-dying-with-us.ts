// Every QEMU we start (sandboxes and the accelerator probe) dies with this process, even a kill -9: a KVM
// probe that hangs (nested virtualization) would otherwise run on for ever, unowned.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

/** util-linux's setpriv (Debian: always there) execs the command with a parent-death signal, so the
 *  process is QEMU itself (same pid) and the kernel kills it when we die. */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/** Spawns `command` (stdin and stdout ignored, stderr piped) so that the kernel kills it when we die. */
export function spawnDyingWithUs(command: string, args: string[]): ChildProcess {
  const stdio: ['ignore', 'ignore', 'pipe'] = ['ignore', 'ignore', 'pipe'];
  return SETPRIV ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args], { stdio }) : spawn(command, args, { stdio });
}
