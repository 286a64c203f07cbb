// Which accelerator to use. KVM can be present yet unusable (nested virtualization here: /dev/kvm opens, a
// flat multiboot guest even runs, but a Linux kernel hangs before printing a byte), so KVM is proven by
// booting the very kernel the VM will use, without root fs, with `panic=-1 -no-reboot`: a working
// accelerator prints "Linux version" and QEMU exits on its own within a second or two. A hang means TCG.
//   await resolveAccel('auto', kernelPath)   -> { accel: 'kvm' | 'tcg', reason }  (cached per process and boot)
//   UNDERSTUDY_ACCEL=tcg|kvm overrides 'auto'.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Accel } from '../../core/ports/hypervisor.port.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { spawnDyingWithUs } from './spawn-dying-with-us.ts';
import { writeOwnerFile } from '../local/process-owner.ts';

export const PROBE_TIMEOUT_MS = 10_000;

export interface ProbeOutcome { exitCode: number | null; timedOut: boolean; console: string; stderr: string }
export type ProbeRunner = (accel: Accel, kernel: string, timeoutMs: number) => Promise<ProbeOutcome>;

/** Boots `kernel` until its no-root-fs panic with the given accelerator. */
export const runProbeGuest: ProbeRunner = (accel, kernel, timeoutMs) => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-accel-probe-'));
  writeOwnerFile(dir); // killed mid-probe, the next start removes it (stale-files.ts)
  const serial = join(dir, 'console.log');
  return new Promise((resolve) => {
    // with a parent-death signal: killed while it hangs, we must not leave it hanging for ever
    const child = spawnDyingWithUs('qemu-system-x86_64', ['-accel', accel, '-machine', 'q35', '-m', '256', '-nodefaults',
      '-no-user-config', '-display', 'none', '-no-reboot', '-kernel', kernel,
      '-append', 'console=ttyS0 panic=-1 root=/dev/null', '-serial', `file:${serial}`]);
    let stderr = '';
    let timedOut = false;
    child.stderr!.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-4000); });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    let done = false;
    const finish = (exitCode: number | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      let console = '';
      try { console = readFileSync(serial, 'utf8').slice(0, 4000); } catch { /* never written */ }
      rmSync(dir, { recursive: true, force: true });
      resolve({ exitCode, timedOut, console, stderr });
    };
    child.on('error', (e) => { stderr += e.message; finish(null); });
    child.on('exit', (code) => finish(code));
  });
};

/** The probe passed: QEMU ended by itself and the kernel got far enough to print its banner. */
export const probeBooted = (o: ProbeOutcome): boolean => !o.timedOut && o.exitCode === 0 && o.console.includes('Linux version');

export function kvmDeviceUsable(): boolean {
  try { accessSync('/dev/kvm', constants.R_OK | constants.W_OK); return true; } catch { return false; }
}

export interface AccelDecision { accel: Accel; reason: string }

/** The decision logic, with its inputs injectable for tests. */
export async function decideAccel(
  requested: Accel | 'auto', kernel: string, env: NodeJS.ProcessEnv, hasKvmDevice: () => boolean, probe: ProbeRunner,
): Promise<AccelDecision> {
  const forced = env.UNDERSTUDY_ACCEL;
  if (forced !== undefined && forced !== '' && forced !== 'auto' && forced !== 'kvm' && forced !== 'tcg') {
    throw new UnderstudyError('usage', `UNDERSTUDY_ACCEL must be kvm, tcg or auto, not '${forced}'`);
  }
  if (requested !== 'auto') return { accel: requested, reason: `requested ${requested}` };
  if (forced === 'kvm' || forced === 'tcg') return { accel: forced, reason: `UNDERSTUDY_ACCEL=${forced}` };
  if (!hasKvmDevice()) return { accel: 'tcg', reason: '/dev/kvm is not usable' };
  const r = await probe('kvm', kernel, PROBE_TIMEOUT_MS);
  if (probeBooted(r)) return { accel: 'kvm', reason: 'the kernel booted under KVM' };
  const why = r.timedOut ? `a kernel under KVM hung for ${PROBE_TIMEOUT_MS} ms`
    : `a kernel under KVM failed (exit ${r.exitCode}: ${r.stderr.trim().split('\n').pop() ?? 'no banner'})`;
  return { accel: 'tcg', reason: why };
}

let cached: Promise<AccelDecision> | undefined;

/**
 * The probe's answer holds until the host reboots or QEMU or the kernel change, so it is also kept on disk
 * (keyed by the boot id and both files' identity): each test process or CLI run then skips the probe.
 */
function probeCacheKey(kernel: string): string | undefined {
  try {
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const ident = (f: string) => { const st = statSync(f); return `${st.size}:${st.mtimeMs}`; };
    const qemu = execFileSync('sh', ['-c', 'command -v qemu-system-x86_64'], { encoding: 'utf8' }).trim();
    return `${bootId} ${ident(qemu)} ${kernel} ${ident(kernel)}`;
  } catch { return undefined; }
}

const probeCacheFile = () => join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'understudy', 'accel-probe.json');

type ProbeCache = Record<string, AccelDecision>;

function readProbeCache(file: string): ProbeCache {
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return saved && typeof saved === 'object' && !Array.isArray(saved) ? saved as ProbeCache : {};
  } catch { return {}; }
}

async function probeWithDiskCache(kernel: string): Promise<AccelDecision> {
  const key = probeCacheKey(kernel);
  const file = probeCacheFile();
  const hit = key ? readProbeCache(file)[key] : undefined;
  if (hit?.accel === 'kvm' || hit?.accel === 'tcg') return { ...hit, reason: `${hit.reason} (cached probe)` };
  const decision = await decideAccel('auto', kernel, process.env, kvmDeviceUsable, runProbeGuest);
  if (key) {
    try {
      // Several kernels (demo host, sandboxes, tiny test guests) share the file; entries of other boots go.
      const bootId = key.split(' ')[0]!;
      const keep = Object.entries(readProbeCache(file)).filter(([k]) => k.startsWith(`${bootId} `));
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(`${file}.${process.pid}`, JSON.stringify(Object.fromEntries([...keep, [key, decision]])));
      renameSync(`${file}.${process.pid}`, file);
    } catch { /* caching is an optimisation */ }
  }
  return decision;
}

/** 'auto' resolves once per process, and once per boot through the disk cache (the probe costs up to PROBE_TIMEOUT_MS). */
export function resolveAccel(requested: Accel | 'auto', kernel: string): Promise<AccelDecision> {
  if (requested !== 'auto' || (process.env.UNDERSTUDY_ACCEL ?? 'auto') !== 'auto') {
    return decideAccel(requested, kernel, process.env, kvmDeviceUsable, runProbeGuest);
  }
  cached ??= probeWithDiskCache(kernel);
  return cached;
}
