// Runs of a batch that would rehearse the same thing share one rehearsal. Every run has its own stage
// services (its identity, options, run directory and sandbox); what is shared is the rehearsal's *result*
// (packages, checks, map2, delta, hypervisor, accel), on a board the batch holds, keyed by rehearsalKey.
// The first run to reach buildImage for a key (the owner) rehearses for real in its own sandbox; the
// others (followers) wait for its result and boot nothing. If the owner fails before it produced a
// result, a waiting follower takes over and rehearses itself. A failing check is a result too; the owner's
// reboot rehearsal (same delta, so followers reach the same decision) is shared the same way.
import { UnderstudyError } from '../domain/errors.ts';
import type { CheckResult, DeltaSummary, PackageChanges, RebootReport, RunInput } from './run-types.ts';
import type { StageIo, StageServices } from './stage-services.ts';

interface Rehearsal { packages?: PackageChanges; checks?: CheckResult[]; map2: string; delta: DeltaSummary; hypervisor: string; accel: string }
interface Entry {
  owner: string; done: Promise<Rehearsal>; resolve(r: Rehearsal): void; reject(e: unknown): void; partial: Partial<Rehearsal>;
  /** The owner's reboot rehearsal (same delta, so followers reach the same decision and wait for it). */
  reboot: Promise<RebootReport>; rebootDone(r: RebootReport): void; rebootFailed(e: unknown): void;
}

/** The image and sandbox a follower carries in its context instead of its own (see batch-resume.ts). */
export const SHARED_PREFIX = 'shared-rehearsal:';

/**
 * Which runs may share a rehearsal: the same plan (command, checks) on the same map1, with the same
 * sandbox options that shape its result. One function, so a batch can key by something else (a content
 * id, a host group) without touching the sharing itself.
 */
export type RehearsalKey = (input: RunInput, map1: string) => string;

export const rehearsalKey: RehearsalKey = (input, map1) => {
  const o = input.options;
  return JSON.stringify([input.command, input.checks, map1, o.mirror ?? null, o.kernel ?? null, o.initrd ?? null]);
};

/** The batch's shared rehearsals, by key. */
export class RehearsalBoard {
  private readonly entries = new Map<string, Entry>();
  private opened = 0;

  constructor(readonly key: RehearsalKey = rehearsalKey) {}

  /** Rehearsals opened on this board (shared ones count once; a take-over counts again). */
  rehearsals(): number { return this.opened; }

  get(key: string): Entry | undefined { return this.entries.get(key); }

  open(key: string, owner: string): Entry {
    let resolve!: Entry['resolve'];
    let reject!: Entry['reject'];
    const done = new Promise<Rehearsal>((res, rej) => { resolve = res; reject = rej; });
    done.catch(() => {});
    let rebootDone!: Entry['rebootDone'];
    let rebootFailed!: Entry['rebootFailed'];
    const reboot = new Promise<RebootReport>((res, rej) => { rebootDone = res; rebootFailed = rej; });
    reboot.catch(() => {});
    const e: Entry = { owner, done, resolve, reject, partial: {}, reboot, rebootDone, rebootFailed };
    this.entries.set(key, e);
    this.opened++;
    return e;
  }

  /** The owner failed without a result: its followers are told, and the key is free to take over. */
  fail(e: Entry, err: unknown): void {
    for (const [k, v] of this.entries) if (v === e) this.entries.delete(k);
    e.reject(err);
  }
}

const abortOf = (signal: AbortSignal) => new Promise<never>((_r, rej) => {
  if (signal.aborted) rej(signal.reason);
  signal.addEventListener('abort', () => rej(signal.reason), { once: true });
});
const untilAborted = <T>(p: Promise<T>, signal: AbortSignal): Promise<T> => Promise.race([p, abortOf(signal)]);

/** One run's services with its rehearsal shared through `board`. */
export function sharedRehearsal(inner: StageServices, board: RehearsalBoard, input: RunInput): StageServices {
  /** The entry this run rehearses for, or the one whose result it follows. */
  let mine: Entry | undefined;
  let followed: Entry | undefined;
  const keyOf = (map1: string) => board.key(input, map1);

  /** Runs an owner's stage; a failure frees the key for a follower to take over. */
  const asOwner = async <R>(work: () => Promise<R>): Promise<R> => {
    try { return await work(); } catch (err) {
      if (mine) { board.fail(mine, err); mine = undefined; }
      throw err;
    }
  };
  const notFollowing = (id: string, io: StageIo) => {
    // a follower resumed in another process lost the owner's result; resume rewinds it to buildImage
    if (id.startsWith(SHARED_PREFIX)) throw new UnderstudyError('internal', `run ${io.runId}: the shared rehearsal it followed is gone`);
  };

  /** This run owns the key's rehearsal, or follows its owner's result (then waits for it). */
  const ownOrFollow = async (map1: string, io: StageIo): Promise<'own' | 'follow'> => {
    for (;;) {
      const key = keyOf(map1);
      const e = board.get(key);
      if (!e || e.owner === io.runId) {
        mine = e ?? board.open(key, io.runId);
        followed = undefined;
        return 'own';
      }
      io.log('info', 'batch', `sharing the rehearsal of run ${e.owner} (same plan and map1)`);
      try {
        await untilAborted(e.done, io.signal);
        followed = e;
        return 'follow';
      } catch (err) {
        if (io.signal.aborted) throw err;
        // the owner failed without a result: try again (possibly as the new owner)
      }
    }
  };

  return {
    ...inner,
    async buildImage(a, io) {
      if (await ownOrFollow(a.map1, io) === 'follow') return { image: SHARED_PREFIX + a.map1 };
      return asOwner(() => inner.buildImage(a, io));
    },
    async bootSandbox(a, io) {
      // resumed past buildImage (rewound to booting): it joins the board here, as owner or follower
      if (!mine && !followed) await ownOrFollow(a.map1, io);
      if (followed) {
        // an earlier attempt of this run may have booted a sandbox of its own: what is left of it goes
        if (a.previous && !a.previous.id.startsWith(SHARED_PREFIX)) await inner.releaseSandbox({ sandbox: a.previous }, io);
        const r = await followed.done;
        return { sandbox: { id: SHARED_PREFIX + a.map1 }, hypervisor: r.hypervisor, accel: r.accel };
      }
      return asOwner(async () => {
        const b = await inner.bootSandbox(a, io);
        if (mine) Object.assign(mine.partial, { hypervisor: b.hypervisor, accel: b.accel });
        return b;
      });
    },
    async runUpgrade(a, io) {
      if (followed) return { packages: (await followed.done).packages ?? { upgraded: [], installed: [], removed: [] } };
      notFollowing(a.sandbox.id, io);
      return asOwner(async () => { const r = await inner.runUpgrade(a, io); if (mine) Object.assign(mine.partial, r); return r; });
    },
    async runChecks(a, io) {
      if (followed) return { checks: (await followed.done).checks ?? [] };
      notFollowing(a.sandbox.id, io);
      const r = await asOwner(() => inner.runChecks(a, io));
      if (mine) {
        mine.partial.checks = r.checks;
        // failing checks are a result too: followers fail the same way without rehearsing again
        if (r.checks.some((c) => !c.ok)) mine.resolve({ map2: '', delta: { added: [], changed: [], removed: [] }, hypervisor: '', accel: '', ...mine.partial });
      }
      return r;
    },
    async captureSandbox(a, io) {
      if (followed) { const r = await followed.done; return { map2: r.map2, delta: r.delta }; }
      notFollowing(a.sandbox.id, io);
      const r = await asOwner(() => inner.captureSandbox(a, io));
      mine?.resolve({ hypervisor: '', accel: '', ...mine.partial, ...r });
      return r;
    },
    async rehearseReboot(a, io) {
      if (followed) return { reboot: await untilAborted(followed.reboot, io.signal), sandbox: a.sandbox };
      notFollowing(a.sandbox.id, io);
      const e = mine;
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
      if (a.sandbox?.id.startsWith(SHARED_PREFIX) || a.image?.startsWith(SHARED_PREFIX)) return;
      return inner.releaseSandbox(a, io);
    },
  };
}
