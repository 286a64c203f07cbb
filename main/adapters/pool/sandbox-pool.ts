// The hypervisors sandboxes are placed on, and the queue in front of them.
//   const pool = new SandboxPool(specs, { store, identity, log })
//   const lease = await pool.acquire({ imageKey, signal, onWait })   // waits while every member is full
//   lease.site -> startSandbox({ site: lease.site, ... });  lease.release() when the sandbox is gone
// - Members connect on first use (in parallel). One that cannot be reached is skipped and reported, and
//   tried again at most every RETRY_MS; if none can be reached, acquire fails saying why for each.
// - Placement: a member with a free slot, preferring one that already holds the image (no upload), then
//   the one with the most free slots, then the order of the entries. Waiters are served first come, first
//   served as slots free up.
// - A member's connection dropping marks it down (its sandboxes see lost() and their stages fail naming
//   it); when it is reached again, the domains we gave up there are destroyed and their run directories
//   removed (orphan rules of domain-owner.ts, per member: also domains of understudy processes of this
//   machine that are gone, e.g. after a kill -9).
// - capacity: the entry's, else from the member's CPUs and memory as libvirt reports them (a sandbox takes
//   2 vCPUs and 1 GiB); the implicit pool of a plain run (this machine only) has no bound, as before.
import { cpus, totalmem } from 'node:os';
import { Hypervisor as LibvirtConnection } from '@unraid/libvirt';
import { UnderstudyError, isUnderstudyError } from '../../core/domain/errors.ts';
import { BUILTIN_QEMU, type PoolMemberSpec } from '../../core/domain/pool-spec.ts';
import type { Hypervisor } from '../../core/ports/hypervisor.port.ts';
import { QemuHypervisor } from '../qemu/qemu-hypervisor.ts';
import { LibvirtHypervisor, destroyOrphans } from '../libvirt/libvirt-hypervisor.ts';
import { localSite, type SandboxSite } from '../sandbox/sandbox-vm.ts';
import { shellQuote as q } from '../capture/remote-listing.ts';
import { ownerIsGone, ownerIsThisProcess, type DomainOwner } from '../libvirt/domain-owner.ts';
import { openMemberSession, type MemberSession } from './member-session.ts';
import { memberHypervisor } from './member-hypervisor.ts';
import { activeRunDirs, memberSite } from './member-site.ts';
import { listMemberImages } from './member-images.ts';

export const RETRY_MS = 30_000;
const SANDBOX_VCPUS = 2;
const SANDBOX_MIB = 1024;

export interface PoolOptions {
  store: string;
  identity?: string;
  acceptNewHostKey?: boolean;
  log?(line: string): void;
  /** Bytes sent to members (images and run files), for reports and the pool bench. */
  onSent?(member: string, bytes: number): void;
  /** Members without a capacity of their own have no bound (the implicit pool of a plain run). */
  unbounded?: boolean;
}

export type MemberState = 'unknown' | 'connecting' | 'up' | 'down';

export interface MemberStatus {
  name: string; uri: string; state: MemberState; why?: string; capacity: number; busy: number; images: number;
  /** Sandboxes placed on it, base images sent to it and the bytes that took (compressed), by this process. */
  sandboxes: number; imagesSent: number; bytesSent: number;
}

export interface PoolLease {
  readonly member: string;
  readonly site: SandboxSite;
  /** Why the member's connection dropped since the slot was given, once it did (the slot is then useless). */
  lost(): string | undefined;
  /** Frees the slot (idempotent). */
  release(): void;
}

interface Member {
  spec: PoolMemberSpec;
  state: MemberState;
  why?: string;
  capacity: number;
  busy: number;
  /** Image keys it holds (remote members: read at connect, added after uploads). */
  images: Set<string>;
  sandboxes: number;
  imagesSent: number;
  bytesSent: number;
  session?: MemberSession;
  hypervisor?: Hypervisor;
  connecting?: Promise<void>;
  lastAttempt: number;
}

interface Waiter {
  imageKey?: string;
  exclude: Set<string>;
  resolve(m: Member): void;
  reject(e: unknown): void;
}

export interface Candidate { usable: boolean; busy: number; capacity: number; holds: boolean }

/**
 * Where a sandbox goes (index into the members, in their order), or undefined when none has a free slot:
 * a member that holds the image first (nothing to send), then the most free slots, then the entry order.
 */
export function pickMember(c: Candidate[]): number | undefined {
  let best: number | undefined;
  for (let i = 0; i < c.length; i++) {
    const m = c[i]!;
    if (!m.usable || m.busy >= m.capacity) continue;
    if (best === undefined) { best = i; continue; }
    const b = c[best]!;
    if (m.holds !== b.holds ? m.holds : m.capacity - m.busy > b.capacity - b.busy) best = i;
  }
  return best;
}

/** Capacity from CPUs and memory: sandboxes of 2 vCPUs and 1 GiB, a quarter of the memory kept for the host. */
export function defaultCapacity(cpuCount: number, memoryMiB: number): number {
  return Math.max(1, Math.min(Math.floor(cpuCount / SANDBOX_VCPUS), Math.floor((memoryMiB * 0.75) / SANDBOX_MIB)));
}

export class SandboxPool {
  private readonly members: Member[];
  private readonly waiters: Waiter[] = [];
  private readonly listeners = new Set<(line: string) => void>();
  private closed = false;

  constructor(specs: PoolMemberSpec[], private readonly o: PoolOptions) {
    if (!specs.length) throw new UnderstudyError('usage', 'a pool needs at least one member');
    this.members = specs.map((spec) => ({
      spec, state: 'unknown', capacity: spec.capacity ?? 0, busy: 0, images: new Set(), lastAttempt: 0, sandboxes: 0, imagesSent: 0, bytesSent: 0,
    }));
  }

  /** Member events (up, unreachable, lost, orphans destroyed) go to `listener` too, until unsubscribed. */
  onLog(listener: (line: string) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  private log(line: string): void {
    this.o.log?.(line);
    for (const l of this.listeners) { try { l(line); } catch { /* a listener's fault is its own */ } }
  }

  /** Some member is reached over SSH (placement then weighs which member holds an image). */
  get hasRemote(): boolean { return this.members.some((m) => m.spec.ssh !== undefined); }

  /** Slots of the members that are up (Infinity when one has no bound). */
  capacity(): number {
    return this.members.filter((m) => m.state === 'up').reduce((n, m) => n + m.capacity, 0);
  }

  status(): MemberStatus[] {
    return this.members.map((m) => ({
      name: m.spec.name, uri: m.spec.uri, state: m.state, ...(m.why ? { why: m.why } : {}), capacity: m.capacity, busy: m.busy, images: m.images.size,
      sandboxes: m.sandboxes, imagesSent: m.imagesSent, bytesSent: m.bytesSent,
    }));
  }

  /** Connects every member not up (and not tried within RETRY_MS, unless retryNow); resolves when all attempts ended. */
  async open(signal?: AbortSignal, o: { retryNow?: boolean } = {}): Promise<MemberStatus[]> {
    const now = Date.now();
    await Promise.all(this.members.filter((m) => m.state !== 'up'
      && (o.retryNow || m.state === 'unknown' || m.connecting || now - m.lastAttempt >= RETRY_MS))
      .map((m) => this.connect(m, signal)));
    return this.status();
  }

  private connect(m: Member, signal?: AbortSignal): Promise<void> {
    m.connecting ??= (async () => {
      m.state = 'connecting';
      m.lastAttempt = Date.now();
      try {
        await this.attach(m, signal);
        m.state = 'up';
        m.why = undefined;
        this.log(`pool member ${m.spec.name} (${m.spec.uri}) is up: capacity ${Number.isFinite(m.capacity) ? m.capacity : 'unbounded'}`);
      } catch (e) {
        m.state = 'down';
        m.why = isUnderstudyError(e) || e instanceof Error ? e.message : String(e);
        this.log(`pool member ${m.spec.name} (${m.spec.uri}) cannot be reached, skipped: ${m.why}`);
      } finally {
        m.connecting = undefined;
      }
      this.serve();
    })();
    return m.connecting;
  }

  private async attach(m: Member, signal?: AbortSignal): Promise<void> {
    const spec = m.spec;
    if (!spec.ssh) { // this machine
      m.hypervisor = spec.uri === BUILTIN_QEMU ? new QemuHypervisor() : new LibvirtHypervisor({ uri: spec.uri });
      m.capacity = spec.capacity ?? (this.o.unbounded ? Infinity : defaultCapacity(cpus().length, totalmem() / 2 ** 20));
      if (spec.uri !== BUILTIN_QEMU) await this.sweepLibvirt(spec.uri, true);
      return;
    }
    const session = await openMemberSession(spec, { store: this.o.store, identity: this.o.identity, acceptNewHostKey: this.o.acceptNewHostKey, signal });
    try {
      const info = await this.sweepLibvirt(spec.uri, spec.capacity !== undefined);
      m.capacity = spec.capacity ?? (this.o.unbounded ? Infinity : defaultCapacity(info?.cpus ?? 1, (info?.memory ?? 0) / 1024));
      await sweepRunDirs(session);
      m.images = new Set((await listMemberImages(session, signal)).cached.map((c) => c.key));
    } catch (e) {
      await session.close();
      throw e;
    }
    m.session = session;
    m.hypervisor = memberHypervisor(session);
    void session.whenLost.then((why) => this.lost(m, session, why));
  }

  /** Opens the member's libvirt (proving it answers), destroys orphaned domains, reads its CPUs and memory. */
  private async sweepLibvirt(uri: string, skipInfo: boolean): Promise<{ cpus: number; memory: number } | undefined> {
    const conn = new LibvirtConnection({ uri });
    try {
      await conn.connectOpen();
    } catch (e) {
      throw new UnderstudyError('hypervisor', `cannot connect to libvirt at ${uri}: ${(e as Error).message}`);
    }
    try {
      const gone = await destroyOrphans(conn);
      if (gone.length) this.log(`libvirt ${uri}: destroyed ${gone.length} orphaned sandbox domain(s): ${gone.join(', ')}`);
      return skipInfo ? undefined : await conn.nodeGetInfo();
    } finally {
      await conn.connectClose().catch(() => undefined);
    }
  }

  private lost(m: Member, session: MemberSession, why: string): void {
    if (m.session !== session) return;
    m.session = undefined;
    m.hypervisor = undefined;
    m.state = 'down';
    m.why = `connection lost: ${why}`;
    m.lastAttempt = Date.now();
    this.log(`pool member ${m.spec.name} (${m.spec.uri}) was lost: ${why}`);
    this.serve(); // waiters that can only be served by up members may now have to fail
  }

  /** A free slot on the best member for this request; waits (FIFO) while the pool is full. */
  async acquire(req: {
    imageKey?: string; signal?: AbortSignal; onWait?(why: string): void; exclude?: string[];
    /** Members to keep away from while another member is up (a retry after one was lost). */
    avoid?: string[];
  }): Promise<PoolLease> {
    if (this.closed) throw new UnderstudyError('cancelled', 'the sandbox pool is closed');
    await this.open(req.signal);
    const exclude = new Set(req.exclude ?? []);
    const others = this.members.filter((m) => !exclude.has(m.spec.name) && !(req.avoid ?? []).includes(m.spec.name));
    if (others.some((m) => m.state === 'up')) for (const a of req.avoid ?? []) exclude.add(a);
    let m = this.pick(req.imageKey, exclude);
    if (m) m.busy++; // the slot is ours from here (served waiters get it counted the same way)
    else {
      this.noneUsable(exclude);
      req.onWait?.(this.waitReason(exclude));
      m = await new Promise<Member>((resolve, reject) => {
        const w: Waiter = { imageKey: req.imageKey, exclude, resolve, reject };
        const onAbort = () => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new UnderstudyError('cancelled', 'cancelled while waiting for a hypervisor'));
        };
        req.signal?.addEventListener('abort', onAbort, { once: true });
        w.resolve = (x) => { req.signal?.removeEventListener('abort', onAbort); resolve(x); };
        w.reject = (e) => { req.signal?.removeEventListener('abort', onAbort); reject(e); };
        this.waiters.push(w);
        this.retryDownMembers();
      });
    }
    return this.lease(m, req.imageKey);
  }

  /** A lease on a slot already counted in m.busy. */
  private lease(m: Member, imageKey?: string): PoolLease {
    let released = false;
    let lostWhy: string | undefined;
    m.sandboxes++;
    void m.session?.whenLost.then((why) => { lostWhy = why; });
    const site = m.session
      ? memberSite(m.session, m.hypervisor!, {
        onSent: (b) => {
          if (imageKey) m.images.add(imageKey);
          if (!b) return;
          m.imagesSent++;
          m.bytesSent += b;
          this.o.onSent?.(m.spec.name, b);
        },
      })
      : localSite(m.hypervisor!);
    return {
      member: m.spec.name, site,
      lost: () => lostWhy,
      release: () => {
        if (released) return;
        released = true;
        m.busy--;
        this.serve();
      },
    };
  }

  private usable(m: Member, exclude: Set<string>): boolean {
    return m.state === 'up' && !exclude.has(m.spec.name) && m.hypervisor !== undefined;
  }

  private pick(imageKey: string | undefined, exclude: Set<string>): Member | undefined {
    const i = pickMember(this.members.map((m) => ({
      usable: this.usable(m, exclude), busy: m.busy, capacity: m.capacity,
      // a member on this machine reads the local image cache: it holds every image
      holds: !m.session || (imageKey !== undefined && m.images.has(imageKey)),
    })));
    return i === undefined ? undefined : this.members[i];
  }

  /** Throws when no member could ever serve the request: all down (or excluded), none still connecting. */
  private noneUsable(exclude: Set<string>): void {
    const candidates = this.members.filter((m) => !exclude.has(m.spec.name));
    if (candidates.some((m) => m.state === 'up' || m.state === 'connecting')) return;
    const why = candidates.map((m) => `${m.spec.name}: ${m.why ?? m.state}`).join('; ');
    throw new UnderstudyError('hypervisor', candidates.length
      ? `no hypervisor of the pool can be reached (${why})`
      : `no other hypervisor in the pool (excluded: ${[...exclude].join(', ')})`);
  }

  private waitReason(exclude: Set<string>): string {
    const up = this.members.filter((m) => this.usable(m, exclude));
    return `waiting for a hypervisor: ${up.map((m) => `${m.spec.name} ${m.busy}/${m.capacity}`).join(', ') || 'none up'}`;
  }

  private retryDownMembers(): void {
    const now = Date.now();
    for (const m of this.members) if (m.state === 'down' && now - m.lastAttempt >= RETRY_MS) void this.connect(m);
  }

  /** Hands free slots to waiters in order; fails waiters nothing can serve any more. */
  private serve(): void {
    for (let i = 0; i < this.waiters.length;) {
      const w = this.waiters[i]!;
      const m = this.pick(w.imageKey, w.exclude);
      if (m) { this.waiters.splice(i, 1); m.busy++; w.resolve(m); continue; }
      try { this.noneUsable(w.exclude); i++; } catch (e) { this.waiters.splice(i, 1); w.reject(e); }
    }
    if (this.waiters.length) this.scheduleRetry();
  }

  private retryTimer?: NodeJS.Timeout;
  /** While someone waits, down members are tried again now and then (one may come back). */
  private scheduleRetry(): void {
    if (this.retryTimer || this.closed || !this.members.some((m) => m.state === 'down')) return;
    this.retryTimer = setTimeout(() => { this.retryTimer = undefined; this.retryDownMembers(); if (this.waiters.length) this.scheduleRetry(); }, RETRY_MS);
    this.retryTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    for (const w of this.waiters.splice(0)) w.reject(new UnderstudyError('cancelled', 'the sandbox pool was closed'));
    await Promise.all(this.members.map(async (m) => { await m.connecting?.catch(() => undefined); await m.session?.close(); m.session = undefined; }));
  }
}

/**
 * Removes run directories on the member that no sandbox of ours uses and whose owner is gone or is this
 * process (given up when the member was lost). Another live orchestrator's directories are left alone.
 */
async function sweepRunDirs(s: MemberSession): Promise<void> {
  const runs = `${s.info.workDir}/runs`;
  const out = await s.sh(`cd ${q(runs)} && now=$(date +%s) && for d in */; do d=\${d%/}; [ -d "$d" ] || continue; `
    + `printf '%s\\t%s\\t%s\\n' "$d" "$((now - $(stat -c %Y "$d")))" "$(cat "$d/owner" 2>/dev/null | tr -d '\\n')"; done; true`);
  const stale: string[] = [];
  for (const line of out.split('\n').filter(Boolean)) {
    const [dir, age, json] = line.split('\t');
    if (!dir || activeRunDirs.has(`${s.spec.uri}|${runs}/${dir}`)) continue;
    let owner: DomainOwner | undefined;
    try { owner = JSON.parse(json ?? '') as DomainOwner; } catch { owner = undefined; }
    // no owner: being made by someone right now, or left by a crash during its upload; an hour settles it
    if (owner ? ownerIsThisProcess(owner) || ownerIsGone(owner) : Number(age) > 3600) stale.push(dir);
  }
  if (stale.length) await s.sh(`cd ${q(runs)} && rm -rf -- ${stale.map(q).join(' ')}`);
}
