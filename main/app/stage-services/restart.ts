// After the swap: nothing runs on a dir: host (contract). On a real host: daemon-reload, then either a
// reboot (kernel, initrd, libc or systemd changed, under --reboot auto; or --reboot always) followed by
// waiting for SSH to come back, or a try-restart of the units whose unit files changed and of the running
// services whose executables changed. `local` decides the same way through a LocalShell, but never
// reboots the machine understudy itself runs on (it could not wait for itself to come back, nor report):
// it restarts the services (but not the one understudy runs in) and tells the operator to reboot. Without
// systemd (a container) it does nothing.
import { readFile } from 'node:fs/promises';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { parseTarget } from '../../core/domain/map-target.ts';
import { planRestart, type RebootChoice, type RestartPlan } from '../../core/domain/restart-plan.ts';
import type { RemoteShell } from '../../core/ports/remote-shell.port.ts';
import type { DeltaSummary, RestartResult } from '../../core/workflow/run-types.ts';
import type { StageIo } from '../../core/workflow/stage-services.ts';
import { LocalShell } from '../../adapters/local/local-shell.ts';

export type Connect = (t: { user: string; host: string; port: number }) => Promise<RemoteShell>;

const REBOOT_WAIT_MS = 10 * 60_000;
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Running services whose ExecStart names one of the changed executables. */
async function servicesRunning(shell: RemoteShell, binaries: string[], signal: AbortSignal): Promise<string[]> {
  if (!binaries.length) return [];
  const script = 'systemctl list-units --type=service --state=running --no-legend --plain | awk \'{print $1}\' | '
    + 'while read -r u; do printf "%s\\t%s\\n" "$u" "$(systemctl show -p ExecStart --value "$u" | tr "\\n" " ")"; done';
  const r = await shell.run(script, { signal, timeoutMs: 60_000 });
  const wanted = new Set(binaries);
  return r.stdout.split('\n').filter(Boolean).flatMap((line) => {
    const [unit, exec = ''] = line.split('\t');
    const paths = exec.match(/path=(\S+)/g)?.map((m) => m.slice(5).replace(/\s*;$/, '')) ?? [];
    return unit && paths.some((p) => wanted.has(p)) ? [unit] : [];
  });
}

async function waitForReboot(connect: Connect, t: { user: string; host: string; port: number }, io: StageIo): Promise<void> {
  const deadline = Date.now() + REBOOT_WAIT_MS;
  await new Promise((r) => setTimeout(r, 5000)); // let the old sshd go away first
  for (;;) {
    if (io.signal.aborted) throw new UnderstudyError('cancelled', 'cancelled while waiting for the host to reboot');
    try {
      const s = await connect(t);
      const r = await s.run('systemctl is-system-running --wait || true', { signal: io.signal, timeoutMs: 5 * 60_000 });
      await s.close();
      io.log('info', 'restart', `host is back: ${r.stdout.trim()}`);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new UnderstudyError('timeout', `the host did not come back within ${REBOOT_WAIT_MS / 60_000} min after the reboot: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 3000));
    }
  }
}

/** The systemd service a process runs in, from its /proc/PID/cgroup text (v1 or v2); undefined outside one. */
export function unitOfCgroup(text: string): string | undefined {
  return /^[^\n]*:(?:name=systemd)?:\/(?:[^\n]*\/)?([^/\n]+\.service)(?:\/[^\n]*)?$/m.exec(text)?.[1];
}

/** try-restart of the units whose unit files changed and of the running services using changed binaries;
 *  never `spare` (the unit understudy itself runs in: restarting it would kill this run half-way). */
async function restartServices(shell: RemoteShell, plan: RestartPlan, io: StageIo, spare?: string): Promise<string[]> {
  const wanted = [...new Set([...plan.units, ...await servicesRunning(shell, plan.binaries, io.signal)])];
  if (spare && wanted.includes(spare)) {
    io.log('stderr', 'restart', `not restarting ${spare}: understudy runs in it; restart it yourself once this run is over`);
  }
  const units = wanted.filter((u) => u !== spare);
  for (const u of units) {
    const r = await shell.run(`systemctl try-restart ${sq(u)}`, { signal: io.signal, timeoutMs: 120_000 });
    io.log(r.exitCode === 0 ? 'info' : 'stderr', 'restart', `try-restart ${u}: ${r.exitCode === 0 ? 'ok' : r.stderr.trim()}`);
  }
  const started: string[] = [];
  for (const u of plan.start.filter((x) => x !== spare)) {
    const r = await shell.run(`systemctl is-active --quiet ${sq(u)} || { systemctl start ${sq(u)} && echo started; }`, { signal: io.signal, timeoutMs: 120_000 });
    if (r.stdout.includes('started')) started.push(u);
    if (r.exitCode !== 0 || r.stdout.includes('started')) {
      io.log(r.exitCode === 0 ? 'info' : 'stderr', 'restart', `start ${u} (enabled by the upgrade): ${r.exitCode === 0 ? 'ok' : r.stderr.trim()}`);
    }
  }
  return [...new Set([...units, ...started])];
}

async function restartLocal(plan: RestartPlan, io: StageIo): Promise<RestartResult> {
  const shell = new LocalShell();
  try {
    const rebootAdvice = () => {
      if (!plan.reboot) return;
      io.log('stderr', 'restart', `this machine needs a reboot to run what the swap changed (${plan.rebootBecause.slice(0, 5).join(', ') || '--reboot always'}): `
        + 'understudy does not reboot the machine it runs on. Reboot it yourself when ready (the swap is committed; '
        + '`understudy rollback local` takes it back).');
    };
    if ((await shell.run('[ -d /run/systemd/system ]', { signal: io.signal, timeoutMs: 10_000 })).exitCode !== 0) {
      io.log('info', 'restart', 'local: systemd is not running on this machine: no daemon-reload, no service restarts');
      rebootAdvice();
      return { restarted: [], rebooted: false };
    }
    await shell.run('systemctl daemon-reload', { signal: io.signal, timeoutMs: 120_000 });
    const own = unitOfCgroup(await readFile('/proc/self/cgroup', 'utf8').catch(() => ''));
    const restarted = await restartServices(shell, plan, io, own);
    rebootAdvice();
    return { restarted, rebooted: false };
  } finally {
    await shell.close();
  }
}

/** `held`: a connection to the host opened before the swap (held-connection.ts); used, not closed, here. */
export async function restartAfterSwap(target: string, reboot: RebootChoice, delta: DeltaSummary | undefined, io: StageIo,
  connect?: Connect, held?: RemoteShell): Promise<RestartResult> {
  const t = parseTarget(target);
  if (t.kind === 'dir') {
    io.log('info', 'restart', 'dir: target: no service restarts, no reboot');
    return { restarted: [], rebooted: false };
  }
  const plan = planRestart([...(delta?.added ?? []), ...(delta?.changed ?? [])], reboot);
  if (t.kind === 'local') return restartLocal(plan, io);
  if (!connect) throw new UnderstudyError('not-implemented', `${target}: restarting services over ssh is not wired to this caller`);
  const shell = held ?? await connect(t);
  try {
    await shell.run('systemctl daemon-reload', { signal: io.signal, timeoutMs: 120_000 });
    if (plan.reboot) {
      io.log('info', 'restart', `rebooting: ${plan.rebootBecause.slice(0, 5).join(', ') || '--reboot always'}`);
      await shell.exec('(sleep 1; systemctl reboot) >/dev/null 2>&1 &', { signal: io.signal, timeoutMs: 30_000 }).catch(() => undefined);
    } else {
      return { restarted: await restartServices(shell, plan, io), rebooted: false };
    }
  } finally {
    if (shell !== held) await shell.close().catch(() => undefined);
  }
  await waitForReboot(connect, t, io);
  return { restarted: [], rebooted: true };
}
