// The pool a run's sandbox is placed on, from the run's options; one pool per process and member list, so
// the runs of a batch (and of the server) share its slots, its member connections and its queue.
//   options.pool: a fleet file's pool: entries      -> those members, each with its capacity
//   options.libvirtUri: one or more URIs (--libvirt-uri, repeatable, with --hypervisor libvirt)
//   neither: this machine (the built-in QEMU, or local libvirt with --hypervisor libvirt)
// A plain run on this machine alone keeps today's behaviour: no bound but the batch's --parallel. Once the
// operator names a pool (several URIs, a remote one, or a fleet pool:), each member has its capacity.
import { userInfo } from 'node:os';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { BUILTIN_QEMU, parsePool, type PoolEntryInput, type PoolMemberSpec } from '../../core/domain/pool-spec.ts';
import { DEFAULT_LIBVIRT_URI } from '../../adapters/libvirt/index.ts';
import { SandboxPool, type PoolOptions } from '../../adapters/pool/sandbox-pool.ts';

export interface PoolChoice { specs: PoolMemberSpec[]; unbounded: boolean }

const localUser = () => { try { return userInfo().username; } catch { return 'root'; } };

/** --libvirt-uri values as the options carry them (one string from older runs, else a list). */
export function libvirtUris(v: unknown): string[] {
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  if (!list.every((u) => typeof u === 'string' && u !== '')) throw new UnderstudyError('usage', '--libvirt-uri takes a libvirt URI');
  return list as string[];
}

export function poolChoice(o: Record<string, unknown>): PoolChoice {
  if (Array.isArray(o.pool) && o.pool.length) return { specs: parsePool(o.pool as Array<string | PoolEntryInput>, localUser()), unbounded: false };
  const kind = o.hypervisor ?? 'qemu';
  const uris = libvirtUris(o.libvirtUri);
  if (kind === 'qemu') {
    if (uris.length) throw new UnderstudyError('usage', '--libvirt-uri needs --hypervisor libvirt');
    return { specs: parsePool([BUILTIN_QEMU]), unbounded: true };
  }
  if (kind !== 'libvirt') throw new UnderstudyError('usage', `--hypervisor must be qemu or libvirt, not '${String(kind)}'`);
  const specs = parsePool(uris.length ? uris : [DEFAULT_LIBVIRT_URI], localUser());
  return { specs, unbounded: specs.length === 1 && specs[0]!.ssh === undefined };
}

const pools = new Map<string, SandboxPool>();

/** The process's pool for these options (made on first use). */
export function poolFor(o: Record<string, unknown>, store: string, extra: Omit<PoolOptions, 'store' | 'unbounded'> = {}): SandboxPool {
  const choice = poolChoice(o);
  const key = JSON.stringify([store, choice, o.identity ?? null, o.acceptNewHostKey === true]);
  let p = pools.get(key);
  if (!p) {
    p = new SandboxPool(choice.specs, {
      store, unbounded: choice.unbounded, ...extra,
      ...(typeof o.identity === 'string' ? { identity: o.identity } : {}), acceptNewHostKey: o.acceptNewHostKey === true,
    });
    pools.set(key, p);
  }
  return p;
}

/** Every pool of this process (for status and reports). */
export function allPools(): SandboxPool[] { return [...pools.values()]; }

/** Closes every pool's member connections (at the end of a CLI verb; tests). */
export async function closePools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.close()));
}
