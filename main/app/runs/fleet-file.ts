// Reads FLEET.yaml (cli-contract.md "Fleet file"): a plan shared by every host, per-host overrides, and
// optionally the pool of hypervisors its sandboxes are spread over (docs/pool.md).
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { UnderstudyError, isUnderstudyError } from '../../core/domain/errors.ts';
import { parsePool, type PoolEntryInput } from '../../core/domain/pool-spec.ts';

const Commands = z.array(z.string().min(1));
const PoolEntry = z.union([z.string().min(1), z.object({
  uri: z.string().min(1),
  name: z.string().min(1).optional(),
  ssh: z.string().min(1).optional(),
  identity: z.string().min(1).optional(),
  known_hosts: z.string().min(1).optional(),
  work_dir: z.string().min(1).optional(),
  capacity: z.number().int().min(1).optional(),
  cache: z.union([z.string().min(1), z.number().positive()]).optional(),
  accel: z.enum(['kvm', 'tcg', 'auto']).optional(),
}).strict()]);
const Fleet = z.object({
  plan: z.object({
    run: z.string().min(1),
    checks: Commands.default([]),
    health: Commands.default([]),
    reboot: z.enum(['auto', 'never', 'always']).default('auto'),
    // what the sandboxes may reach besides each host's own repositories (as --allow-host, --mirror, --upstream-proxy)
    'allow-hosts': Commands.optional(),
    mirrors: Commands.optional(),
    'upstream-proxy': z.string().min(1).optional(),
  }).strict(),
  hosts: z.array(z.object({
    target: z.string().min(1),
    run: z.string().min(1).optional(),
    checks: Commands.optional(),
    health: Commands.optional(),
  }).strict()).min(1),
  pool: z.array(PoolEntry).min(1).optional(),
}).strict();

export interface FleetHost {
  target: string; command: string; checks: string[]; health: string[]; reboot: 'auto' | 'never' | 'always';
  /** The plan's network options, as run options (allowHost, mirror, upstreamProxy); the same for every host. */
  network?: Record<string, unknown>;
}

export interface FleetFile { hosts: FleetHost[]; pool?: Array<string | PoolEntryInput> }

export function parseFleetFile(text: string, source = 'fleet file'): FleetFile {
  let doc: unknown;
  try { doc = parse(text); } catch (err) {
    throw new UnderstudyError('usage', `${source} is not valid YAML: ${(err as Error).message}`);
  }
  const r = Fleet.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new UnderstudyError('usage', `${source}: ${i.path.join('.') || '(top)'}: ${i.message}`);
  }
  const { plan, hosts, pool } = r.data;
  if (pool) {
    try { parsePool(pool); } catch (e) {
      throw isUnderstudyError(e) ? new UnderstudyError('usage', `${source}: pool: ${e.message}`) : e;
    }
  }
  const network: Record<string, unknown> = {
    ...(plan['allow-hosts']?.length ? { allowHost: plan['allow-hosts'] } : {}),
    ...(plan.mirrors?.length ? { mirror: plan.mirrors } : {}),
    ...(plan['upstream-proxy'] ? { upstreamProxy: plan['upstream-proxy'] } : {}),
  };
  return {
    hosts: hosts.map((h) => ({
      target: h.target, command: h.run ?? plan.run, checks: h.checks ?? plan.checks, health: h.health ?? plan.health, reboot: plan.reboot,
      ...(Object.keys(network).length ? { network } : {}),
    })),
    ...(pool ? { pool } : {}),
  };
}

export function parseFleet(text: string, source = 'fleet file'): FleetHost[] {
  return parseFleetFile(text, source).hosts;
}

export async function readFleetFile(path: string): Promise<FleetFile> {
  let text: string;
  try { text = await readFile(path, 'utf8'); } catch (err) {
    throw new UnderstudyError('usage', `cannot read the fleet file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseFleetFile(text, path);
}

export async function readFleet(path: string): Promise<FleetHost[]> {
  return (await readFleetFile(path)).hosts;
}
