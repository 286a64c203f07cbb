// Hypervisor port on libvirt (@unraid/libvirt), any URI (default qemu:///system).
//   const hv = new LibvirtHypervisor({ uri: 'qemu:///system' });
//   const vm = await hv.start(spec, signal)   // a transient domain (createXML) with a unique name
//   await vm.shutdown(60_000) || await vm.kill(); await vm.dispose()
// The binding has no events, so the domain's state is polled. A transient domain disappears when it
// stops, so nothing is left to undefine. Domains still running when this process exits are destroyed
// with virsh (synchronously, from the 'exit' hook), so nothing outlives us; domains left by an
// understudy process of this machine that was killed outright are destroyed by the next start()
// (domain-owner.ts says how an orphan is told apart).
// Paths in the spec must exist on the libvirt host: with a remote URI, that host's file system, and the
// SSH port is forwarded on that host's loopback. The default placement is this machine; a pool member
// gives its own (adapters/pool/member-hypervisor.ts: files checked over SSH, a port there, its user's uid).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DomainState, Hypervisor as LibvirtConnection, type Domain } from '@unraid/libvirt';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { Accel, Hypervisor, VmHandle, VmSpec } from '../../core/ports/hypervisor.port.ts';
import { freeLoopbackPort } from '../qemu/free-port.ts';
import { exitedWithin, serialTailOf } from '../qemu/vm-console.ts';
import { resolveAccel } from '../qemu/kvm-probe.ts';
import { buildDomainXml } from './domain-xml.ts';
import { currentOwner, ownerFromXml, ownerIsGone, ownerIsThisProcess, ownerMetadataXml } from './domain-owner.ts';

export const DEFAULT_LIBVIRT_URI = 'qemu:///system';
export const DOMAIN_PREFIX = 'understudy-';
const START_ATTEMPTS = 3;
const POLL_MS = 300;

/** Where the libvirt host's files, loopback and QEMU user are: this machine unless a pool member says otherwise. */
export interface LibvirtPlacement {
  /** Throws UnderstudyError('hypervisor') naming each path libvirt could not read. */
  checkFiles(paths: string[]): Promise<void>;
  accel(requested: Accel | 'auto', kernel: string): Promise<Accel>;
  /** Makes the serial console's directory. */
  prepareSerial(path: string): Promise<void>;
  /** A port to try for the guest's SSH on the libvirt host's loopback. */
  sshPort(): Promise<number>;
  serialTail(path: string, lines: number): Promise<string>;
  /** QEMU runs as this user (static DAC label, no relabelling): the owner of the files. */
  uid: number;
  gid: number;
  /** QEMU, not libvirtd, opens the console file (so that user can read it). */
  serialByQemu?: boolean;
}

export const THIS_MACHINE: LibvirtPlacement = {
  async checkFiles(paths) {
    for (const f of paths) if (!existsSync(f)) throw new UnderstudyError('hypervisor', `${f} does not exist`);
  },
  accel: async (requested, kernel) => (await resolveAccel(requested, kernel)).accel,
  async prepareSerial(path) { mkdirSync(dirname(path), { recursive: true }); },
  sshPort: freeLoopbackPort,
  serialTail: serialTailOf,
  uid: process.getuid?.() ?? 0,
  gid: process.getgid?.() ?? 0,
};

const live = new Map<string, string>(); // domain name -> uri
process.on('exit', () => {
  for (const [name, uri] of live) spawnSync('virsh', ['-c', uri, 'destroy', name], { stdio: 'ignore', timeout: 10_000 });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class LibvirtHypervisor implements Hypervisor {
  readonly kind = 'libvirt' as const;
  readonly uri: string;
  private readonly at: LibvirtPlacement;

  constructor(o: { uri?: string; placement?: LibvirtPlacement } = {}) {
    this.uri = o.uri ?? DEFAULT_LIBVIRT_URI;
    this.at = o.placement ?? THIS_MACHINE;
  }

  private async connect(): Promise<LibvirtConnection> {
    const conn = new LibvirtConnection({ uri: this.uri });
    try {
      await conn.connectOpen();
    } catch (e) {
      throw new UnderstudyError('hypervisor', `cannot connect to libvirt at ${this.uri}: ${(e as Error).message}` +
        ' (is libvirtd running? see docs/troubleshooting.md)');
    }
    return conn;
  }

  async start(spec: VmSpec, signal?: AbortSignal): Promise<VmHandle> {
    const files = [spec.kernel, spec.initrd, ...spec.disks.map((d) => d.path)].filter((f): f is string => f !== undefined);
    await this.at.checkFiles(files).catch((e: Error) => { throw new UnderstudyError('hypervisor', `VM ${spec.name}: ${e.message}`); });
    const cancelled = () => new UnderstudyError('cancelled', `VM ${spec.name}: start cancelled`);
    if (signal?.aborted) throw cancelled();
    const accel = await this.at.accel(spec.accel ?? 'auto', spec.kernel);
    await this.at.prepareSerial(spec.serialLog);
    const conn = await this.connect();
    await destroyOrphans(conn);
    const name = `${DOMAIN_PREFIX}${spec.name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40)}-${randomBytes(4).toString('hex')}`;
    let lastError = '';
    for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      if (signal?.aborted) break;
      const sshPort = spec.forwardSsh ? await this.at.sshPort() : 0;
      const xml = buildDomainXml(spec, { name, accel, sshPort, uid: this.at.uid, gid: this.at.gid,
        ownerMetadata: ownerMetadataXml(currentOwner()), serialByQemu: this.at.serialByQemu });
      try {
        live.set(name, this.uri);
        const domain = await conn.domainCreateXML(xml);
        const vm = new LibvirtVm(name, accel, sshPort, spec.serialLog, conn, domain, this.at);
        if (signal?.aborted) { await vm.dispose(); break; }
        return vm;
      } catch (e) {
        live.delete(name);
        lastError = (e as Error).message;
        // Lost the race for the port we picked: pick another.
        if (!/host forwarding rule/i.test(lastError)) break;
      }
    }
    await conn.connectClose().catch(() => undefined);
    if (signal?.aborted) throw cancelled();
    throw new UnderstudyError('hypervisor', `VM ${spec.name}: libvirt could not start domain ${name}: ${lastError.trim()}`, { accel });
  }
}

/** Marks a domain this process runs outside LibvirtHypervisor.start (a probe), so no sweep takes it. */
export function markLive(name: string, uri: string): () => void {
  live.set(name, uri);
  return () => { live.delete(name); };
}

/**
 * Destroys understudy's domains whose owning process (on this machine) is gone, and domains this very
 * process started but gave up (a pool member whose connection dropped under it: the domain may have run on
 * while we could not reach it); returns their names.
 */
export async function destroyOrphans(conn: LibvirtConnection): Promise<string[]> {
  const destroyed: string[] = [];
  for (const d of await conn.connectListAllDomains().catch(() => [])) {
    try {
      const name = await d.getName();
      if (!name.startsWith(DOMAIN_PREFIX) || live.has(name)) continue;
      const owner = ownerFromXml(await d.getXMLDesc());
      if (!owner) continue;
      // ours but no longer tracked: given up (its member was lost); or its owner is gone
      if (ownerIsThisProcess(owner) || ownerIsGone(owner)) { await d.destroy(); destroyed.push(name); }
    } catch { /* gone meanwhile, or not ours to read: leave it */ }
  }
  return destroyed;
}

/**
 * Destroys domain `name` on `uri` if its owning process (on this machine) is gone: what a resumed run does
 * with the sandbox its killed orchestrator left running. True when it was destroyed.
 */
export async function destroyOrphanedDomain(uri: string, name: string): Promise<boolean> {
  if (!name.startsWith(DOMAIN_PREFIX)) return false;
  const conn = new LibvirtConnection({ uri });
  try {
    await conn.connectOpen();
  } catch (e) {
    throw new UnderstudyError('hypervisor', `cannot connect to libvirt at ${uri} to destroy domain ${name}: ${(e as Error).message}`);
  }
  try {
    const d = await conn.domainLookupByName(name).catch(() => undefined);
    if (!d) return false; // gone already (transient domains vanish when they stop)
    const owner = ownerFromXml(await d.getXMLDesc());
    if (!owner || !ownerIsGone(owner)) return false;
    await d.destroy();
    return true;
  } finally {
    await conn.connectClose().catch(() => undefined);
  }
}

export class LibvirtVm implements VmHandle {
  readonly exited: Promise<void>;
  private running = true;
  private disposed = false;

  constructor(
    readonly id: string, readonly accel: Accel, readonly sshPort: number, private readonly serialLog: string,
    private readonly conn: LibvirtConnection, private readonly domain: Domain, private readonly at: LibvirtPlacement = THIS_MACHINE,
  ) {
    this.exited = this.poll();
  }

  get isRunning(): boolean { return this.running; }

  /** Polls until the transient domain is gone or stopped (lookup fails or state is shutoff/crashed). */
  private async poll(): Promise<void> {
    for (;;) {
      let state: DomainState | undefined;
      try {
        const d = await this.conn.domainLookupByName(this.id);
        state = (await d.getInfo()).state;
      } catch {
        state = undefined; // gone
      }
      if (state === undefined || state === DomainState.SHUTOFF || state === DomainState.CRASHED) break;
      await sleep(POLL_MS);
    }
    this.running = false;
    live.delete(this.id);
  }

  serialTail(lines: number): Promise<string> {
    return this.at.serialTail(this.serialLog, lines);
  }

  async shutdown(timeoutMs: number): Promise<boolean> {
    if (!this.running) return true;
    try { await this.domain.shutdown(); } catch { /* already stopping or gone */ }
    return exitedWithin(this.exited, timeoutMs);
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    try { await this.domain.destroy(); } catch { /* already gone */ }
    await this.exited;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.kill();
    await this.conn.connectClose().catch(() => undefined);
  }
}

/** Names of the running domains whose name starts with `prefix` (leak checks in tests and cleanup). */
export async function listDomains(uri: string, prefix = DOMAIN_PREFIX): Promise<string[]> {
  const conn = new LibvirtConnection({ uri });
  await conn.connectOpen();
  try {
    const names = await Promise.all((await conn.connectListAllDomains()).map((d) => d.getName()));
    return names.filter((n) => n.startsWith(prefix));
  } finally {
    await conn.connectClose();
  }
}
