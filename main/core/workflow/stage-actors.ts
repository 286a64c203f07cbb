// Turns StageServices into the machine's named actors (fromPromise, so each gets an AbortSignal that
// fires when its state is left). Progress and logs go to the run's event sink. The cleanup actors
// (releaseSandbox, rollback) first wait for aborted stages to settle, so a cancelled boot cannot create a
// VM after the teardown already ran.
import { fromPromise } from 'xstate';
import { UnderstudyError } from '../domain/errors.ts';
import { WAITING_STAGE, type ContextPatch, type RunContext } from './run-types.ts';
import { planRebootRehearsal, rebootSummary } from './reboot-rehearsal.ts';
import type { RunEventSink, StageIo, StageServices } from './stage-services.ts';

export interface StageActorInput { context: RunContext }

export interface StageActorOptions {
  /** How long cleanup waits for aborted stages to unwind before going ahead anyway. */
  settleTimeoutMs?: number;
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new UnderstudyError('internal', `workflow: ${what} missing from the run context`);
  return value;
}

export function makeStageActors(services: StageServices, sink: RunEventSink, opts: StageActorOptions = {}) {
  const inFlight = new Set<Promise<unknown>>();
  const settleTimeoutMs = opts.settleTimeoutMs ?? 30_000;

  const ioFor = (context: RunContext, stage: string, signal: AbortSignal): StageIo => {
    const run = context.input.runId;
    return {
      runId: run,
      signal,
      progress: (p) => sink({ type: 'progress', run, stage, ...p }),
      log: (stream, source, text) => sink({ type: 'log', run, stream, source, text, at: new Date().toISOString() }),
    };
  };

  const settle = async () => {
    if (inFlight.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((r) => { timer = setTimeout(r, settleTimeoutMs); });
    await Promise.race([Promise.allSettled([...inFlight]), timeout]);
    clearTimeout(timer);
  };

  /** One stage actor: `work` maps the context to a service call and its result to a context patch. */
  const stage = (name: string, work: (c: RunContext, io: StageIo) => Promise<ContextPatch>, cleanup = false) =>
    fromPromise<ContextPatch, StageActorInput>(async ({ input, signal }) => {
      if (cleanup) await settle();
      const p = work(input.context, ioFor(input.context, name, signal));
      inFlight.add(p);
      try { return await p; } finally { inFlight.delete(p); }
    });

  const s = services;
  return {
    preflight: stage('preflight', async (c, io) => {
      const { items } = await s.preflight({ input: c.input }, io);
      const bad = items.filter((i) => !i.ok);
      if (bad.length) {
        throw new UnderstudyError('bad-target', `preflight failed: ${bad.map((i) => `${i.name}${i.detail ? ` (${i.detail})` : ''}`).join(', ')}`, { preflight: items });
      }
      return { preflight: items };
    }),
    captureHost: stage('capturing', (c, io) => s.captureHost({ target: c.input.target, options: c.input.options }, io)),
    buildImage: stage('building', (c, io) => s.buildImage({ map1: need(c.map1, 'map1'), options: c.input.options }, io)),
    placeSandbox: stage(WAITING_STAGE, (c, io) => s.placeSandbox({ map1: need(c.map1, 'map1'), image: need(c.image, 'image'), options: c.input.options }, io)),
    bootSandbox: stage('booting', (c, io) =>
      s.bootSandbox({ image: need(c.image, 'image'), map1: need(c.map1, 'map1'), options: c.input.options, ...(c.sandbox ? { previous: c.sandbox } : {}) }, io)),
    runUpgrade: stage('upgrading', (c, io) => s.runUpgrade({ sandbox: need(c.sandbox, 'sandbox'), command: c.input.command }, io)),
    runChecks: stage('checking', async (c, io) => {
      const { checks, network } = await s.runChecks({ sandbox: need(c.sandbox, 'sandbox'), checks: c.input.checks }, io);
      const failed = checks.filter((k) => !k.ok);
      if (failed.length) {
        throw new UnderstudyError('check-failed', `check failed in the sandbox: ${failed.map((k) => k.cmd).join('; ')}`, { checks, ...(network ? { network } : {}) });
      }
      return { checks, ...(network ? { network } : {}) };
    }),
    captureSandbox: stage('capturing2', (c, io) => s.captureSandbox({ sandbox: need(c.sandbox, 'sandbox'), map1: need(c.map1, 'map1') }, io)),
    rehearseReboot: stage('rebooting', async (c, io) => {
      const plan = planRebootRehearsal(c.input.rebootRehearsal ?? 'auto', c.delta, c.packages);
      io.log('info', 'reboot', plan.rehearse ? `rehearsing the reboot: ${plan.reason}` : plan.reason);
      if (!plan.rehearse) return { reboot: { rehearsed: false, reason: plan.reason, because: plan.because } };
      const r = await s.rehearseReboot({
        sandbox: need(c.sandbox, 'sandbox'), map1: need(c.map1, 'map1'), map2: need(c.map2, 'map2'), checks: c.input.checks,
        reason: plan.reason, because: plan.because,
      }, io);
      io.log(r.reboot.ok ? 'info' : 'stderr', 'reboot', rebootSummary(r.reboot));
      if (!r.reboot.ok) throw new UnderstudyError('check-failed', rebootSummary(r.reboot), { reboot: r.reboot });
      return { reboot: r.reboot, sandbox: r.sandbox };
    }),
    releaseSandbox: stage('releasing', async (c, io) => {
      await s.releaseSandbox({ sandbox: c.sandbox, image: c.image }, io);
      return {};
    }, true),
    findConflicts: stage('reconciling', (c, io) => s.findConflicts({
      target: c.input.target, map1: need(c.map1, 'map1'), map2: need(c.map2, 'map2'), delta: need(c.delta, 'delta'), keptBack: c.keptBack,
    }, io)),
    swap: stage('swapping', (c, io) => s.swap({
      target: c.input.target, map1: need(c.map1, 'map1'), map2: need(c.map2, 'map2'), resolutions: c.resolutions ?? {}, keptBack: c.keptBack,
    }, io)),
    restart: stage('restarting', async (c, io) => ({
      restart: await s.restart({ target: c.input.target, reboot: c.input.reboot, delta: c.delta, packages: c.packages }, io),
    })),
    checkHealth: stage('health', async (c, io) => {
      const { health } = await s.checkHealth({ target: c.input.target, health: c.input.health }, io);
      const failed = health.filter((h) => !h.ok);
      if (failed.length) {
        throw new UnderstudyError('health-failed', `health check failed on the host: ${failed.map((h) => h.cmd).join('; ')}`, { health });
      }
      return { health };
    }),
    rollback: stage('rolling-back', async (c, io) => {
      await s.rollback({ target: c.input.target, map1: need(c.map1, 'map1'), reboot: c.input.reboot }, io);
      return {};
    }, true),
  };
}

export type StageActors = ReturnType<typeof makeStageActors>;
