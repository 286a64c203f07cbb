// What `batch` tells the operator as it goes and at the end: the survey's groups before anything boots,
// a line per host as it finishes (with how it got its rehearsal and, on a pool, where and how long), the
// per-host JSON reports under STORE/batches/BATCH/, and the result (exit code: 0, or the worst host's).
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VerbRuntime } from '../verb.ts';
import { printResult } from '../output.ts';
import type { BatchResult, HostReport } from '../../app/runs/batch-runner.ts';
import type { StoredSurvey } from '../../app/run-store/batch-store.ts';
import type { MemberStatus } from '../../adapters/pool/sandbox-pool.ts';
import { realFleetSharing } from '../../app/runs/fleet-sharing.ts';
import { rehearsalShareText } from '../../core/workflow/rehearsal-share.ts';
import { groupsText } from '../render/fleet-groups.ts';

/** A line of the batch's own (`batch` is '' before the batch is recorded: the pool is reached first). */
export function announce(rt: VerbRuntime, batch: string, text: string): void {
  if (rt.out.json) rt.out.event({ type: 'log', ...(batch ? { batch } : {}), stream: 'info', source: 'batch', text, at: new Date().toISOString() });
  else rt.out.info(text);
}

/** The batch's survey and groups (NDJSON: a `groups` event before any host's run), and the store-backed sharing. */
export function fleetReporting(rt: VerbRuntime) {
  return {
    fleetSharing: realFleetSharing(rt.store),
    onSurveyHost: (batch: string, target: string, o: { map1: string } | { error: string }) =>
      announce(rt, batch, 'map1' in o ? `${target}  captured: map1 ${o.map1.slice(0, 12)}` : `${target}  not captured: ${o.error}`),
    onSurvey: (batch: string, s: StoredSurvey) => {
      if (rt.out.json) rt.out.event({ type: 'groups', batch, groups: s.groups, failed: s.failed, hosts: s.hosts, seconds: s.seconds });
      else rt.out.info(groupsText(s.groups, s.failed));
    },
  };
}

/** How the host got its rehearsal, for its finished line. */
const rehearsalNote = (h: HostReport) => (h.rehearsal ? `; ${rehearsalShareText(h.rehearsal)}` : '');

const reportFile = (store: string, batch: string, target: string) => join(store, 'batches', batch, `${target.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`);

/** A host's report is on disk as soon as it finished, not only when the whole fleet is done. */
export function hostDone(rt: VerbRuntime, batch: string, h: HostReport): void {
  mkdirSync(join(rt.store, 'batches', batch), { recursive: true });
  writeFileSync(reportFile(rt.store, batch, h.target), JSON.stringify(h, null, 2) + '\n');
  rt.out.info(`${h.target}  finished: ${h.outcome}${hostDetail(h)}${rehearsalNote(h)}`);
}

/** Writes a JSON report per host to STORE/batches/<id>/ (skipped ones too), prints the result, returns the exit code. */
export async function reportBatch(rt: VerbRuntime, r: BatchResult, pool?: MemberStatus[]): Promise<number> {
  const dir = join(rt.store, 'batches', r.batch);
  await mkdir(dir, { recursive: true });
  for (const h of r.hosts) await writeFile(reportFile(rt.store, r.batch, h.target), JSON.stringify(h, null, 2) + '\n');
  const result = { ...r, reports: dir, hosts: r.hosts.map(({ result: _r, ...h }) => h), ...(pool ? { pool } : {}) };
  const code = r.ok ? 0 : r.interrupted ? 1 : Math.max(1, ...r.hosts.map((h) => h.exitCode));
  const why = r.interrupted ? `interrupted; continue it with: understudy resume ${r.batch}` : r.stopped ?? `${r.failed} host${r.failed === 1 ? '' : 's'} failed`;
  if (code === 0) {
    printResult(rt.out, result, () => [
      ...r.hosts.map((h) => `${h.target}  ${h.outcome}${hostDetail(h)}${rehearsalNote(h)}`),
      `${r.rehearsals} rehearsal${r.rehearsals === 1 ? '' : 's'} for ${r.hosts.length} host${r.hosts.length === 1 ? '' : 's'}${r.sharing ? ` in ${r.groups.length} group${r.groups.length === 1 ? '' : 's'}` : ' (sharing off)'}`,
    ].join('\n'));
  } else if (rt.out.json) {
    process.stdout.write(JSON.stringify({ type: 'result', ...result, error: { code: r.interrupted ? 'cancelled' : 'batch-failed', message: why } }) + '\n');
  } else {
    process.stderr.write(r.hosts.map((h) => `${h.target}  ${h.outcome}${hostDetail(h)}${rehearsalNote(h)}`).join('\n') + `\nbatch ${r.batch}: ${why}\n`);
  }
  return code;
}

/** "  (run R, on m1, waited 12 s, rehearsal 41 s; retried after hv2 was lost)" for a host's line. */
function hostDetail(h: HostReport): string {
  const parts = [
    ...(h.run ? [`run ${h.run}`] : []),
    ...(h.member ? [h.sharedRehearsal ? `shared the rehearsal on ${h.member}` : `on ${h.member}`] : []),
    ...(h.waitSeconds !== undefined && h.waitSeconds >= 1 ? [`waited ${Math.round(h.waitSeconds)} s`] : []),
    ...(h.rehearsalSeconds !== undefined ? [`rehearsal ${Math.round(h.rehearsalSeconds)} s`] : []),
  ];
  const retried = h.requeued?.length ? `; retried after ${h.requeued.map((x) => x.member ?? 'its hypervisor').join(', ')} was lost` : '';
  return parts.length || retried ? `  (${parts.join(', ')}${retried})` : '';
}
