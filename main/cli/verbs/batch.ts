// `understudy batch FLEET.yaml`: canary hosts first, then --parallel at a time, stop past --max-fail.
// Every host is captured first and the hosts are grouped (same release, packages and package sources, or
// identical trees); each group is rehearsed once and its other hosts take that rehearsal where it verifies
// path by path against their own map1 (else they rehearse on their own). --no-sharing rehearses each host
// alone. On a pool of hypervisors (batch-pool.ts, docs/pool.md) rehearsals run up to its capacity.
// Writes one JSON report per host under STORE/batches/<id>/.
// The batch is recorded in the run store as it goes; `batch --resume BATCH` (or `resume BATCH`) continues
// one whose orchestrator died or was interrupted.
import { resolve } from 'node:path';
import type { Verb, VerbRuntime } from '../verb.ts';
import { RunStore } from '../../app/run-store/run-store.ts';
import { BatchStore } from '../../app/run-store/batch-store.ts';
import { resumeBatch, runBatch } from '../../app/runs/batch-runner.ts';
import { unfinishedBatchFor } from '../../app/runs/batch-resume.ts';
import { checkNetworkChoices, networkChoices } from '../../adapters/proxy/sandbox-network.ts';
import { readFleet, readFleetFile, type FleetHost } from '../../app/runs/fleet-file.ts';
import { otherOwnerRuns } from '../../app/runs/process-alive.ts';
import type { RunListener } from '../../app/runs/runner.ts';
import { stageServicesFor } from '../../app/runs/stage-services-registry.ts';
import { parseMaxFail } from '../../core/workflow/batch-plan.ts';
import { isUnderstudyError, UnderstudyError } from '../../core/domain/errors.ts';
import { parseTarget } from '../../core/domain/map-target.ts';
import { plainRunLines } from '../render/plain-run-lines.ts';
import { checkHypervisorOptions } from './sandbox-option-checks.ts';
import { collectOptional } from './upgrade-options.ts';
import { announce, fleetReporting, hostDone, reportBatch } from './batch-report.ts';
import { openPool } from './batch-pool.ts';
import { requireRunStore } from './run-store-guard.ts';

const count = (name: string, v: unknown, min: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UnderstudyError('usage', `--${name} must be a whole number >= ${min}, not '${v}'`);
  return n;
};

/** Options fixed when the batch started; a resumed batch keeps them. */
const PLAN_OPTIONS = ['canary', 'parallel', 'maxFail', 'rehearse', 'hypervisor', 'libvirtUri', 'identity', 'acceptNewHostKey', 'new'] as const;
const flag = (o: string) => '--' + o.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

/** A host whose target does not parse would only fail later as a run of its own: refuse the file up front. */
function checkFleetTargets(file: string, hosts: FleetHost[]): void {
  hosts.forEach((h, i) => {
    try { parseTarget(h.target); } catch (e) {
      throw new UnderstudyError('usage', `${file}: hosts.${i}: ${isUnderstudyError(e) ? e.message : String(e)}`);
    }
  });
}

export const batchVerb: Verb = {
  name: 'batch',
  summary: 'upgrade a fleet: batch FLEET.yaml [--canary N] [--parallel N] [--max-fail N|P%] [--yes | --rehearse] | batch --resume BATCH',
  configure: (c) => c.argument('[fleet]', 'fleet file (YAML); optional with --resume')
    .option('--canary <n>', 'hosts that go first; all must pass (default 1)')
    .option('--parallel <n>', 'hosts at a time after the canary (default 1)')
    .option('--max-fail <n|p%>', 'stop starting hosts once failures exceed this (default 0)')
    .option('--yes', 'approve every host\'s review (required to upgrade)')
    .option('--rehearse', 'rehearse every host only; no host is changed')
    .option('--hypervisor <kind>', 'qemu (default) or libvirt')
    .option('--libvirt-uri <uri>', 'place the sandboxes on this libvirt host; repeat it for a pool of hypervisors (docs/pool.md)', collectOptional)
    .option('--identity <file>', 'SSH private key for ssh:// hosts')
    .option('--accept-new-host-key', 'record the unknown SSH host keys of the fleet\'s hosts instead of refusing them')
    .option('--no-sharing', 'rehearse every host in a sandbox of its own (no survey, no groups)')
    .option('--resume <batch>', 'continue an interrupted batch: finished hosts are not redone, interrupted runs resume, '
      + 'the rest start under its saved options')
    .option('--new', 'start a new batch even though one over the same fleet is unfinished')
    .addHelpText('after', `
The canary hosts (the first N of the fleet file) run first and must all pass; then the rest, N at a time.
Once failures exceed --max-fail no new host starts (running ones finish; the rest are skipped).
Before anything boots, every host is captured and the hosts are grouped: identical trees, or the same OS
release, installed packages (name, architecture, version) and package sources, with the same plan. Each
group is rehearsed once, by its first host (the canary when it has one). Every other host takes that
rehearsal only if, on every path the rehearsal changes, its own map1 is the same as the representative's
(or the drift rules merge it: text under /etc), and the rehearsal wrote no text of the representative's
own (host name, identity files under /etc) into what it takes; paths outside that delta stay exactly as
the host has them. A host that fails this is rehearsed on its own, and the report says which paths.
--no-sharing: every host rehearses alone. A JSON report per host goes to STORE/batches/BATCH/.
On a pool of hypervisors (--libvirt-uri repeated, or the fleet file's pool:, docs/pool.md) the pool is
reached first; rehearsals run side by side up to its capacity while swaps stay --parallel at a time, and a
host whose hypervisor was lost is queued once more, on another member.
The batch is recorded in the run store as it goes: if its process dies or is interrupted, continue it with
'understudy resume BATCH' (or 'batch --resume BATCH'); 'runs --batches' lists batches and their ids.`),
  async run(rt, args, opts) {
    if (opts.resume) {
      const given = PLAN_OPTIONS.filter((o) => opts[o] !== undefined);
      if (given.length) throw new UnderstudyError('usage', `a resumed batch keeps the options it started with; drop ${given.map(flag).join(', ')}`);
      return resumeBatchFromCli(rt, String(opts.resume), args[0]);
    }
    if (!args[0]) throw new UnderstudyError('usage', 'batch needs a fleet file (or --resume BATCH)');
    checkHypervisorOptions(opts);
    const options = {
      canary: count('canary', opts.canary ?? 1, 0), parallel: count('parallel', opts.parallel ?? 1, 1), maxFail: parseMaxFail(String(opts.maxFail ?? 0)),
    };
    const fleetFile = await readFleetFile(args[0]);
    const hosts = fleetFile.hosts;
    checkFleetTargets(args[0], hosts);
    const network = hosts[0]?.network ?? {};
    checkNetworkChoices(networkChoices(network)); // the plan's allow-hosts, mirrors, upstream-proxy
    if (fleetFile.pool && (opts.libvirtUri !== undefined || opts.hypervisor !== undefined)) {
      throw new UnderstudyError('usage', `${args[0]} names a pool: give the hypervisors there or with --hypervisor/--libvirt-uri, not both`);
    }
    const kind = opts.rehearse ? 'rehearse' : 'upgrade';
    const store = new RunStore(rt.store);
    try {
      const open = opts.new ? undefined : unfinishedBatchFor(new BatchStore(store), hosts, kind);
      if (open && otherOwnerRuns(open)) {
        throw new UnderstudyError('usage', `batch ${open.id} over this fleet is running in process ${open.ownerPid}; pass --new to start another anyway`);
      }
      if (open) {
        const done = open.hosts.filter((h) => h.report).length;
        throw new UnderstudyError('usage', `batch ${open.id} over this fleet did not finish (${done} of ${open.hosts.length} hosts done): `
          + `continue it with 'understudy resume ${open.id}', or pass --new to start over (hosts it finished would run again)`);
      }
      const picked = {
        hypervisor: opts.hypervisor, libvirtUri: opts.libvirtUri, identity: opts.identity, acceptNewHostKey: opts.acceptNewHostKey, pool: fleetFile.pool,
      };
      const adapterOptions = { ...network, ...Object.fromEntries(Object.entries(picked).filter(([, v]) => v !== undefined)) };
      const pool = await openPool(rt, adapterOptions, (text) => announce(rt, '', text));
      const r = await runBatch({
        store, hosts, options, kind, yes: Boolean(opts.yes), signal: rt.signal, fleet: resolve(args[0]), sharing: opts.sharing !== false, adapterOptions,
        services: (input) => stageServicesFor(input, rt.store), ...fleetReporting(rt), ...(pool ? { sandboxSlots: pool.slots } : {}),
        listener: batchListener(rt, store), onHostDone: (id, h) => hostDone(rt, id, h),
        onRequeue: (id, target, why) => announce(rt, id, `${target}  back in the queue, on another hypervisor: ${why}`),
        onStart: (id) => announce(rt, id, `batch ${id}: ${hosts.length} hosts (${kind}); if it is interrupted, continue it with: understudy resume ${id}`),
      });
      return await reportBatch(rt, r, pool?.status());
    } finally { store.close(); }
  },
};

/** `batch --resume BATCH` and `resume BATCH`. A fleet file, if given, must still list the batch's hosts and plan. */
export async function resumeBatchFromCli(rt: VerbRuntime, batchId: string, fleet?: string): Promise<number> {
  requireRunStore(rt.store, `batch '${batchId}'`);
  const store = new RunStore(rt.store);
  try {
    if (fleet) {
      const hosts = await readFleet(fleet);
      const ids = new BatchStore(store).match(batchId);
      const rec = ids.length === 1 ? new BatchStore(store).get<{ hosts: unknown }>(ids[0]!) : undefined;
      if (rec && JSON.stringify(rec.request.hosts) !== JSON.stringify(hosts)) {
        throw new UnderstudyError('usage', `${fleet} no longer lists the hosts and plan batch ${rec.id} started with; resume it without the fleet file`);
      }
    }
    const saved = (() => { const ids = new BatchStore(store).match(batchId); return ids.length === 1 ? new BatchStore(store).get<{ adapterOptions?: Record<string, unknown> }>(ids[0]!) : undefined; })();
    const pool = saved ? await openPool(rt, saved.request.adapterOptions ?? {}, (text) => announce(rt, saved.id, text)) : undefined;
    const r = await resumeBatch({
      store, batchId, signal: rt.signal, listener: batchListener(rt, store), onHostDone: (id, h) => hostDone(rt, id, h),
      services: (input) => stageServicesFor(input, rt.store), ...fleetReporting(rt), ...(pool ? { sandboxSlots: pool.slots } : {}),
      onRequeue: (id, target, why) => announce(rt, id, `${target}  back in the queue, on another hypervisor: ${why}`),
      onStart: (id) => {
        const rec = new BatchStore(store).get(id)!;
        const n = (s: string) => rec.hosts.filter((h) => h.status === s).length;
        announce(rt, id, `resuming batch ${id}: ${n('passed') + n('failed')} hosts finished, ${n('running')} interrupted, ${n('pending')} not started`);
      },
    });
    return await reportBatch(rt, r, pool?.status());
  } finally { store.close(); }
}

/** NDJSON events as they come; for people, each run's lines prefixed with its host (hosts run side by side). */
function batchListener(rt: VerbRuntime, store: RunStore): RunListener {
  const perRun = new Map<string, RunListener>();
  return (e) => {
    if (rt.out.json) { if (e.type !== 'result') rt.out.event({ ...e }); return; }
    if (e.type !== 'stage' && e.type !== 'log') return;
    let lines = perRun.get(e.run);
    if (!lines) {
      const host = store.get(e.run)?.target ?? e.run;
      lines = plainRunLines((l) => rt.out.info(`${host}  ${l}`));
      perRun.set(e.run, lines);
    }
    lines(e);
  };
}
