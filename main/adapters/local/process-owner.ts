// Who owns something understudy left on this machine (a run, a batch, a lock, a temp dir, a VM): the
// owning process's host name, the machine's boot id, the pid and the pid's start time. A pid alone is not
// enough: after a crash or a restart of the machine the pid may belong to another process, which would
// keep a dead run "running" forever and its leftovers untouchable.
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export interface ProcessOwner { host: string; bootId: string; pid: number; startTicks: string }

export function bootId(): string {
  try { return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(); } catch { return ''; }
}

/** Field 22 of /proc/PID/stat (after the parenthesised command name, which may hold spaces). */
export function startTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch { return undefined; }
}

export function currentOwner(): ProcessOwner {
  return { host: hostname(), bootId: bootId(), pid: process.pid, startTicks: startTicks(process.pid) ?? '' };
}

/** Whether a pid is alive at all (signal 0 probes without sending anything). */
export function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** The owner beyond its pid, as one string kept next to the pid in records: 'HOST BOOT-ID START-TICKS'. */
export function ownerToken(o: ProcessOwner = currentOwner()): string {
  return `${o.host} ${o.bootId} ${o.startTicks}`;
}

/**
 * Whether the process that recorded `pid` (and `token`) still runs. Without a token (records older than
 * tokens) the pid decides. Another host's process cannot be judged from here: it counts as alive.
 */
export function ownerAlive(pid: number, token?: string | null): boolean {
  if (!token) return pidAlive(pid);
  const [host, boot, ticks] = token.split(' ');
  if (host !== hostname()) return true;
  if (!boot || boot !== bootId()) return false; // this machine restarted since: every process of then is gone
  return startTicks(pid) === ticks;
}

const OWNER_FILE = '.understudy-owner';

/** Marks a temp dir as this process's (stale-files.ts removes it once its owner is gone). */
export function writeOwnerFile(dir: string): void {
  writeFileSync(join(dir, OWNER_FILE), `${process.pid} ${ownerToken()}\n`);
}

/** True when `dir` carries an owner file whose owner is gone; false when it is alive, unknown or unmarked. */
export function ownerFileStale(dir: string): boolean {
  let text: string;
  try { text = readFileSync(join(dir, OWNER_FILE), 'utf8').trim(); } catch { return false; }
  const sp = text.indexOf(' ');
  const pid = Number(text.slice(0, sp));
  if (sp < 0 || !Number.isInteger(pid) || pid <= 0) return false;
  return !ownerAlive(pid, text.slice(sp + 1));
}
