// Hosts whose map1 is identical share one rehearsal: the first run to reach buildImage for a map1 (the
// owner) rehearses for real; the others (followers) wait for its result and reuse packages, checks, map2
// and delta without booting a sandbox of their own. If the owner's rehearsal fails before it produced a
// result, a waiting follower takes over and rehearses itself. One instance per (command, checks) plan.
import type { CheckResult, DeltaSummary, PackageChanges, RebootReport, SandboxRef } from './run-types.ts';
import type { StageIo, StageServices } from './stage-services.ts';

interface Rehearsal { packages?: PackageChanges; checks?: CheckResult[]; map2: string; delta: DeltaSummary; hypervisor: string; accel: string }
interface Entry {
  owner: string; done: Promise<Rehearsal>; resolve(r: Rehearsal): void; reject(e: unknown): void; partial: Partial<Rehearsal>;
  /** The owner's reboot rehearsal (same delta, so followers reach the same decision and wait for it). */
  reboot: Promise<RebootReport>; rebootDone(r: RebootReport): void; rebootFailed(e: unknown): void;
}

const SHARED = 'shared-rehearsal:';

const untilAborted = <T>(p: Promise<T>, signal: AbortSignal): Promise<T> => Promise.race([p,
  new Promise<never>((_r, rej) => { if (signal.aborted) rej(signal.reason); signal.addEventListener('abort', () => rej(signal.reason), { once: true }); })]);

export function sharedRehearsal(inner: StageServices) {
  const byMap = new Map<string, Entry>();
  /** runId -> map1 whose rehearsal it follows. */
  const following = new Map<string, string>();
  let rehearsals = 0;

  const open = (map1: string, owner: string): Entry => {
    let resolve!: Entry['resolve'];
    let reject!: Entry['reject'];
    const done = new Promise<Rehearsal>((res, rej) => { resolve = res; reject = rej; });
    done.catch(() => {});
    let rebootDone!: Entry['rebootDone'];
    let rebootFailed!: Entry['rebootFailed'];
    const reboot = new Promise<RebootReport>((res, rej) => { rebootDone = res; rebootFailed = rej; });
    reboot.catch(() => {});
    const e: Entry = { owner, done, resolve, reject, partial: {}, reboot, rebootDone, rebootFailed };
    byMap.set(map1, e);
    rehearsals++;
    return e;
  };
  const ownEntry = (io: StageIo): Entry | undefined => [...byMap.values()].find((e) => e.owner === io.runId);
  /** Runs an owner's stage; a failure frees the map1 for a follower to take over. */
  const asOwner = async <R>(io: StageIo, work: () => Promise<R>): Promise<R> => {
    try { return await work(); } catch (err) {
      const e = ownEntry(io);
      if (e) { for (const [m, v] of byMap) if (v === e) byMap.delete(m); e.reject(err); }
      throw err;
    }
  };
  const followed = (io: StageIo) => { const m = following.get(io.runId); return m ? byMap.get(m) : undefined; };

  const services: StageServices = {
    ...inner,
    async buildImage(a, io) {
      for (;;) {
        const e = byMap.get(a.map1);
        if (!e || e.owner === io.runId) {
          if (!e) open(a.map1, io.runId);
          following.delete(io.runId);
          return asOwner(io, () => inner.buildImage(a, io));
        }
        io.log('info', 'batch', `sharing the rehearsal of run ${e.owner} (same map1)`);
        try {
          await Promise.race([e.done, new Promise((_r, rej) => io.signal.addEventListener('abort', () => rej(io.signal.reason), { once: true }))]);
          following.set(io.runId, a.map1);
          return { image: SHARED + a.map1 };
        } catch (err) {
          if (io.signal.aborted) throw err;
          // the owner failed without a result: try again (possibly as the new owner)
        }
      }
    },
    async bootSandbox(a, io) {
      const f = followed(io);
      if (f) { const r = await f.done; return { sandbox: { id: SHARED + a.map1 }, hypervisor: r.hypervisor, accel: r.accel }; }
      return asOwner(io, async () => {
        const b = await inner.bootSandbox(a, io);
        Object.assign(ownEntry(io)?.partial ?? {}, { hypervisor: b.hypervisor, accel: b.accel });
        return b;
      });
    },
    async runUpgrade(a, io) {
      const f = followed(io);
      if (f) return { packages: (await f.done).packages ?? { upgraded: [], installed: [], removed: [] } };
      return asOwner(io, async () => { const r = await inner.runUpgrade(a, io); Object.assign(ownEntry(io)?.partial ?? {}, r); return r; });
    },
    async runChecks(a, io) {
      const f = followed(io);
      if (f) return { checks: (await f.done).checks ?? [] };
      const r = await asOwner(io, () => inner.runChecks(a, io));
      const e = ownEntry(io);
      if (e) {
        e.partial.checks = r.checks;
        // failing checks are a result too: followers fail the same way without rehearsing again
        if (r.checks.some((c) => !c.ok)) e.resolve({ map2: '', delta: { added: [], changed: [], removed: [] }, hypervisor: '', accel: '', ...e.partial } as Rehearsal);
      }
      return r;
    },
    async captureSandbox(a, io) {
      const f = followed(io);
      if (f) { const r = await f.done; return { map2: r.map2, delta: r.delta }; }
      const r = await asOwner(io, () => inner.captureSandbox(a, io));
      const e = ownEntry(io);
      e?.resolve({ hypervisor: '', accel: '', ...e.partial, ...r } as Rehearsal);
      return r;
    },
    async rehearseReboot(a, io) {
      const f = followed(io);
      if (f) return { reboot: await untilAborted(f.reboot, io.signal), sandbox: a.sandbox as SandboxRef };
      const e = ownEntry(io);
      try {
        const r = await inner.rehearseReboot(a, io);
        e?.rebootDone(r.reboot);
        return r;
      } catch (err) {
        e?.rebootFailed(err);
        throw err;
      }
    },
    async releaseSandbox(a, io) {
      if (a.sandbox?.id.startsWith(SHARED) || a.image?.startsWith(SHARED)) return;
      return inner.releaseSandbox(a, io);
    },
  };
  return { services, rehearsals: () => rehearsals };
}
