// Reads FLEET.yaml (cli-contract.md "Fleet file"): a plan shared by every host, per-host overrides.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { UnderstudyError } from '../../core/domain/errors.ts';

const Commands = z.array(z.string().min(1));
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
}).strict();

export interface FleetHost {
  target: string; command: string; checks: string[]; health: string[]; reboot: 'auto' | 'never' | 'always';
  /** The plan's network options, as run options (allowHost, mirror, upstreamProxy); the same for every host. */
  network?: Record<string, unknown>;
}

export function parseFleet(text: string, source = 'fleet file'): FleetHost[] {
  let doc: unknown;
  try { doc = parse(text); } catch (err) {
    throw new UnderstudyError('usage', `${source} is not valid YAML: ${(err as Error).message}`);
  }
  const r = Fleet.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new UnderstudyError('usage', `${source}: ${i.path.join('.') || '(top)'}: ${i.message}`);
  }
  const { plan, hosts } = r.data;
  const network: Record<string, unknown> = {
    ...(plan['allow-hosts']?.length ? { allowHost: plan['allow-hosts'] } : {}),
    ...(plan.mirrors?.length ? { mirror: plan.mirrors } : {}),
    ...(plan['upstream-proxy'] ? { upstreamProxy: plan['upstream-proxy'] } : {}),
  };
  return hosts.map((h) => ({
    target: h.target, command: h.run ?? plan.run, checks: h.checks ?? plan.checks, health: h.health ?? plan.health, reboot: plan.reboot,
    ...(Object.keys(network).length ? { network } : {}),
  }));
}

export async function readFleet(path: string): Promise<FleetHost[]> {
  let text: string;
  try { text = await readFile(path, 'utf8'); } catch (err) {
    throw new UnderstudyError('usage', `cannot read the fleet file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseFleet(text, path);
}
