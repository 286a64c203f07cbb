// Runs of a batch that would rehearse the same thing share one rehearsal. Every run has its own stage
// services (its identity, options, run directory and sandbox); what is shared is the rehearsal's *result*
// (packages, checks, map2, delta, hypervisor, accel), on a board the batch holds, keyed by rehearsalKey.
// The first run to reach buildImage for a key (the owner) rehearses for real in its own sandbox; the
// others (followers) wait for its result and boot nothing. If the owner fails before it produced a
// result, a waiting follower takes over and rehearses itself. A failing check is a result too; the owner's
// reboot rehearsal (same delta, so followers reach the same decision) is shared the same way. An owner
// whose pool member is lost during its reboot rehearsal takes the whole rehearsal off the board: its
// followers fail with the same hypervisor-lost error, and the runs a batch queues again for them all
// rehearse anew (one owner, the others following) instead of taking a result whose reboot never ended.
// A follower whose map1 is not the owner's (a batch keys runs by host group: fleet-groups.ts) takes the
// result only through the board's verification (follower-delta.ts): every path of the owner's delta is
// compared with its own map1, and it gets a map2 of its own (its map1 with the verified delta). When the
// comparison does not hold it rehearses on its own, as a group of one, and says why. Without a way to
// verify, only identical map1s share.
import { isUnderstudyError, UnderstudyError } from '../domain/errors.ts';
import type { FollowerVerdict } from '../domain/follower-delta.ts';
import type { CheckResult, DeltaSummary, KeptBack, PackageChanges, RebootReport, RunInput } from './run-types.ts';
import type { RehearsalShare } from './rehearsal-share.ts';
import type { StageIo, StageServices } from './stage-services.ts';

interface Rehearsal {
  packages?: PackageChanges; checks?: CheckResult[]; map1: string; map2: string; delta: DeltaSummary; keptBack?: KeptBack[]; hypervisor: string; accel: string;
  /** Where the owner's sandbox ran (a pool member). */
  member?: string;
}
interface Entry {
  owner: string; ownerTarget?: string; settled: boolean; rebootSettled: boolean;
  done: Promise<Rehearsal>; resolve(r: Rehearsal): void; reject(e: unknown): void; partial: Partial<Rehearsal>;
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

/** May a follower with its own map1 take the owner's rehearsal? (adapters/fleet/follower-verify.ts) */
export type VerifyFollower = (owner: { map1: string; map2: string }, own: { map1: string }) => Promise<FollowerVerdict>;

/** The batch's shared rehearsals, by key. */
export class RehearsalBoard {
  private readonly entries = new Map<string, Entry>();
  private opened = 0;

  constructor(readonly key: RehearsalKey = rehearsalKey, readonly verify?: VerifyFollower) {}

  /** Rehearsals opened on this board (shared ones count once; a take-over counts again). */
  rehearsals(): number { return this.opened; }

  get(key: string): Entry | undefined { return this.entries.get(key); }

  /** `owner` rehearses for `key` (a batch opens its representatives' entries as it starts them). */
  open(key: string, owner: string, ownerTarget?: string): Entry {
    let resolve!: Entry['resolve'];
    let reject!: Entry['reject'];
    const done = new Promise<Rehearsal>((res, rej) => {
      resolve = (r) => { e.settled = true; res(r); };
      reject = (err) => { e.settled = true; rej(err); };
    });
    done.catch(() => {});
    let rebootDone!: Entry['rebootDone'];
    let rebootFailed!: Entry['rebootFailed'];
    const reboot = new Promise<RebootReport>((res, rej) => {
      rebootDone = (r) => { e.rebootSettled = true; res(r); };
      rebootFailed = (err) => { e.rebootSettled = true; rej(err); };
    });
    reboot.catch(() => {});
    const e: Entry = {
      owner, ...(ownerTarget ? { ownerTarget } : {}), settled: false, rebootSettled: false, done, resolve, reject, partial: {}, reboot, rebootDone, rebootFailed,
    };
    this.entries.set(key, e);
    this.opened++;
    return e;
  }

  /** The owner failed without a result: its followers are told, and the key is free to take over. */
  fail(e: Entry, err: unknown): void {
    for (const [k, v] of this.entries) if (v === e) this.entries.delete(k);
    e.reject(err);
  }

  /** A run ended: a rehearsal it owned and never finished (it failed before it began) is failed too, and
   *  so is a reboot rehearsal its followers still wait for (it ended before it rehearsed the reboot). */
  release(owner: string, err: unknown): void {
    for (const e of [...this.entries.values()]) {
      if (e.owner !== owner) continue;
      if (!e.settled) this.fail(e, err);
      else if (!e.rebootSettled) e.rebootFailed(err);
    }
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
  /** How this run gets its rehearsal (its context's `shared`), and, verified, its own map2 and delta. */
  let share: RehearsalShare | undefined;
  let ownResult: { map2: string; delta: DeltaSummary } | undefined;
  /** Set when verification sent this run to a rehearsal of its own: its key from then on. */
  let aloneKey: string | undefined;
  const keyOf = (map1: string) => aloneKey ?? board.key(input, map1);

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
  const whose = (e: Entry) => e.ownerTarget ?? `run ${e.owner}`;

  /** Whether this run may take the owner's result: the same map1, or a map1 verified path by path. */
  const mayFollow = async (e: Entry, r: Rehearsal, map1: string, io: StageIo): Promise<boolean> => {
    const from = { fromRun: e.owner, ...(e.ownerTarget ? { fromTarget: e.ownerTarget } : {}) };
    if (!r.map2) { share = { mode: 'shared', ...from }; return true; } // its checks failed: so do ours
    // the very map1 the rehearsal started from: every path is identical, nothing to verify
    const paths = r.delta.added.length + r.delta.changed.length + r.delta.removed.length;
    if (r.map1 === map1) { share = { mode: 'shared', ...from, deltaPaths: paths, verified: paths, hostSpecific: 0 }; return true; }
    if (!board.verify) {
      share = { mode: 'own', ...from, conflicts: [{ path: '', host: `map1 ${map1.slice(0, 12)}`, sandbox: `the rehearsal started from ${r.map1.slice(0, 12)}; nothing can verify the difference` }] };
      return false;
    }
    io.log('info', 'batch', `verifying ${whose(e)}'s rehearsal against this host's map1, path by path`);
    const v = await board.verify({ map1: r.map1, map2: r.map2 }, { map1 });
    if (v.takes) {
      share = { mode: 'shared', ...from, deltaPaths: v.deltaPaths, verified: v.identical, already: v.already, merged: v.merged, hostSpecific: v.hostSpecific };
      ownResult = { map2: v.map2!, delta: v.delta! };
      return true;
    }
    share = { mode: 'own', ...from, conflicts: v.conflicts, hostSpecific: v.hostSpecific, deltaPaths: v.deltaPaths };
    return false;
  };

  /** This run owns the key's rehearsal, or follows its owner's result (then waits for it). */
  const ownOrFollow = async (map1: string, io: StageIo): Promise<'own' | 'follow'> => {
    for (;;) {
      const key = keyOf(map1);
      const e = board.get(key);
      if (!e || e.owner === io.runId) {
        mine = e ?? board.open(key, io.runId, input.target);
        mine.partial.map1 = map1;
        followed = undefined;
        return 'own';
      }
      io.log('info', 'batch', `waiting for the rehearsal of ${whose(e)} (run ${e.owner}): same plan and ${e.ownerTarget ? 'host group' : 'map1'}`);
      let r: Rehearsal;
      try {
        r = await untilAborted(e.done, io.signal);
      } catch (err) {
        if (io.signal.aborted) throw err;
        continue; // the owner failed without a result: try again (possibly as the new owner)
      }
      if (await mayFollow(e, r, map1, io)) {
        followed = e;
        return 'follow';
      }
      io.log('info', 'batch', `rehearsing on its own: ${share?.conflicts?.length ?? 0} path(s) of ${whose(e)}'s rehearsal differ here: `
        + (share?.conflicts ?? []).slice(0, 5).map((c) => `/${c.path} (here: ${c.host}; rehearsal: ${c.sandbox})`).join('; '));
      aloneKey = JSON.stringify(['alone', input.target, key]);
    }
  };

  return {
    ...inner,
    async buildImage(a, io) {
      if (await ownOrFollow(a.map1, io) === 'follow') return { image: SHARED_PREFIX + a.map1, ...(share ? { shared: share } : {}) };
      const mode = share ?? { mode: 'own' as const };
      return asOwner(async () => ({ ...(await inner.buildImage(a, io)), shared: mode }));
    },
    async placeSandbox(a, io) {
      // a follower boots nothing: it takes no slot of the pool
      if (followed) return { placement: { member: (await followed.done).member ?? 'local', waitedSeconds: 0, shared: true } };
      return asOwner(async () => {
        const r = await inner.placeSandbox(a, io);
        if (mine) mine.partial.member = r.placement.member;
        return r;
      });
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
        if (mine) Object.assign(mine.partial, { hypervisor: b.hypervisor, accel: b.accel, ...(b.placement ? { member: b.placement.member } : {}) });
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
        if (r.checks.some((c) => !c.ok)) mine.resolve({ map1: '', map2: '', delta: { added: [], changed: [], removed: [] }, hypervisor: '', accel: '', ...mine.partial });
      }
      return r;
    },
    async captureSandbox(a, io) {
      if (followed) { const r = await followed.done; return ownResult ?? { map2: r.map2, delta: r.delta, ...(r.keptBack ? { keptBack: r.keptBack } : {}) }; }
      notFollowing(a.sandbox.id, io);
      const r = await asOwner(() => inner.captureSandbox(a, io));
      mine?.resolve({ map1: a.map1, hypervisor: '', accel: '', ...mine.partial, ...r });
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
        if (e && isUnderstudyError(err) && err.code === 'hypervisor-lost') board.fail(e, err);
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
