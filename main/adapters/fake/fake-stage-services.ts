// Fake StageServices for workflow tests: deterministic results, failure injection per service, delays
// that honor the AbortSignal, and a record of every call (optionally appended to a file so a test can
// read it after the process running the machine was killed).
import { appendFileSync } from 'node:fs';
import { UnderstudyError, type ErrorCode } from '../../core/domain/errors.ts';
import type { StageIo, StageServiceName, StageServices } from '../../core/workflow/stage-services.ts';
import type { Conflict, DeltaSummary, KeptBack } from '../../core/workflow/run-types.ts';
import { abortableSleep } from './abortable-sleep.ts';

export interface FakeOptions {
  /** This service throws UnderstudyError(failCode). */
  failAt?: StageServiceName;
  failCode?: ErrorCode;
  /** The first call of this service waits until aborted (for cancel and kill tests). */
  hangAt?: StageServiceName;
  /** Per-service delay in ms (honors the signal); a number applies to every service. */
  delayMs?: number | Partial<Record<StageServiceName, number>>;
  /** runChecks returns a failing result instead of throwing (every check; the command `false` always fails). */
  checksFail?: boolean;
  /** map1 per target (default: the same map for every target). */
  map1For?(target: string): string;
  /** captureSandbox reports this delta (default: one changed binary, nothing that boots). */
  delta?: DeltaSummary;
  /** rehearseReboot reports a boot that did not reach a running system. */
  rebootFails?: boolean;
  /** checkHealth returns a failing result. */
  healthFail?: boolean;
  /** findConflicts reports these. */
  conflicts?: Conflict[];
  /** captureSandbox reports these sandbox-only paths (and what became of them). */
  keptBack?: KeptBack[];
  /** Every call start/end is appended here as `start NAME` / `end NAME` / `abort NAME` lines. */
  callLog?: string;
}

export interface FakeCall { name: StageServiceName; phase: 'start' | 'end' | 'abort' | 'fail' }

export interface FakeStageServices extends StageServices {
  calls: FakeCall[];
  /** Names of services that were called (started) at least once, in order of first call. */
  started(): StageServiceName[];
  count(name: StageServiceName): number;
}

export function fakeStageServices(opts: FakeOptions = {}): FakeStageServices {
  const calls: FakeCall[] = [];
  const note = (name: StageServiceName, phase: FakeCall['phase']) => {
    calls.push({ name, phase });
    if (opts.callLog) appendFileSync(opts.callLog, `${phase} ${name}\n`);
  };
  const delay = (name: StageServiceName) =>
    typeof opts.delayMs === 'number' ? opts.delayMs : opts.delayMs?.[name] ?? 0;

  /** Wraps one fake service: logs the call, applies delay/hang/failure, honors the signal. */
  const svc = <A, R>(name: StageServiceName, body: (a: A, io: StageIo) => R | Promise<R>) =>
    async (a: A, io: StageIo): Promise<R> => {
      const first = !calls.some((c) => c.name === name);
      note(name, 'start');
      try {
        if (opts.hangAt === name && first) await abortableSleep(2 ** 30, io.signal);
        const ms = delay(name);
        if (ms > 0) await abortableSleep(ms, io.signal);
        if (opts.failAt === name) {
          throw new UnderstudyError(opts.failCode ?? 'io', `fake ${name} failed (injected)`);
        }
        const r = await body(a, io);
        note(name, 'end');
        return r;
      } catch (err) {
        note(name, io.signal.aborted ? 'abort' : 'fail');
        throw err;
      }
    };

  const services: StageServices = {
    preflight: svc('preflight', () => ({ items: [{ name: 'reach host', ok: true }, { name: 'store healthy', ok: true }] })),
    captureHost: svc('captureHost', (a, io) => {
      io.progress({ step: 'hashing', current: 1024, total: 2048, bytesPerSec: 1024 });
      io.progress({ step: 'hashing', current: 2048, total: 2048, bytesPerSec: 1024 });
      return { map1: opts.map1For?.(a.target) ?? 'a'.repeat(64) };
    }),
    buildImage: svc('buildImage', () => ({ image: '/fake/images/root.qcow2' })),
    placeSandbox: svc('placeSandbox', () => ({ placement: { member: 'local', waitedSeconds: 0 } })),
    bootSandbox: svc('bootSandbox', () => ({ sandbox: { id: 'fake-vm-1', sshPort: 2222 }, hypervisor: 'fake', accel: 'tcg' })),
    runUpgrade: svc('runUpgrade', (a, io) => {
      io.log('stdout', 'upgrade', `$ ${a.command}`);
      return {
        packages: { upgraded: [{ name: 'hello-service', from: '1.0', to: '2.0' }], installed: [], removed: [] },
        network: {
          hosts: [{ host: 'deb.example', port: 80, requests: 4, bytes: 2_400_000, cachedRequests: 1, cachedBytes: 2_000_000, tunnels: 0 }],
          refusals: [{ host: 'elsewhere.example', port: 80, path: '/x', count: 1, reason: "elsewhere.example is not a repository of the host's apt sources" }],
          failures: [], unreachable: [],
        },
      };
    }),
    runChecks: svc('runChecks', (a) => ({
      checks: a.checks.map((cmd) => {
        const ok = !opts.checksFail && cmd !== 'false';
        return { cmd, ok, exitCode: ok ? 0 : 1 };
      }),
    })),
    captureSandbox: svc('captureSandbox', () => ({
      map2: 'b'.repeat(64), delta: opts.delta ?? { added: [], changed: ['usr/bin/hello-service'], removed: [] },
      ...(opts.keptBack ? { keptBack: opts.keptBack } : {}),
    })),
    rehearseReboot: svc('rehearseReboot', (a) => {
      const kernel = { version: '6.12.9-amd64', path: 'boot/vmlinuz-6.12.9-amd64', initrds: ['boot/initrd.img-6.12.9-amd64'],
        chosenBy: 'the newest kernel in /boot (fake)', cmdline: 'root=/dev/vda rw console=ttyS0' };
      const base = { rehearsed: true, reason: a.reason, because: a.because, kernel };
      const reboot = opts.rebootFails
        ? { ...base, ok: false, failure: 'the sandbox did not reach a running system: emergency mode (fake)',
          failedUnits: ['mnt-data.mount'], consoleTail: 'You are in emergency mode.' }
        : { ...base, ok: true, running: kernel.version, bootSeconds: 1, systemState: 'running', failedUnits: [], failedBefore: [],
          checks: a.checks.map((cmd) => ({ cmd, ok: true, exitCode: 0 })) };
      return { reboot, sandbox: { ...a.sandbox, sshPort: 2223 } };
    }),
    releaseSandbox: svc('releaseSandbox', () => undefined),
    findConflicts: svc('findConflicts', () => ({ conflicts: opts.conflicts ?? [] })),
    swap: svc('swap', () => ({ swap: { files: 1, bytesSent: 4096, seconds: 0.1, windowSeconds: 0.01 } })),
    restart: svc('restart', () => ({ restarted: ['hello-service'], rebooted: false })),
    checkHealth: svc('checkHealth', (a) => ({ health: a.health.map((cmd) => ({ cmd, ok: !opts.healthFail })) })),
    rollback: svc('rollback', () => undefined),
  };

  return {
    ...services,
    calls,
    started: () => [...new Set(calls.filter((c) => c.phase === 'start').map((c) => c.name))],
    count: (name) => calls.filter((c) => c.name === name && c.phase === 'start').length,
  };
}
