// `understudy runs`: run history from the run store, newest first; `runs --batches`: fleet batches, with the
// id to resume an interrupted one by.
import type { Verb } from '../verb.ts';
import { printResult } from '../output.ts';
import { RunStore } from '../../app/run-store/run-store.ts';
import { ownerRuns } from '../../app/runs/process-alive.ts';
import { runRow, runsTable } from '../render/run-listing.ts';
import { UnderstudyError } from '../../core/domain/errors.ts';
import { BatchStore, type BatchRecord } from '../../app/run-store/batch-store.ts';
import { formatTable } from '../../app/runs/batch-listing.ts';
import { hasRunStore } from './run-store-guard.ts';

const OUTCOMES = ['upgraded', 'rehearsed', 'check-failed', 'conflict', 'rolled-back', 'needs-recovery', 'failed', 'cancelled', 'aborted'];

export const runsVerb: Verb = {
  name: 'runs',
  summary: 'run history: runs [--host H] [--outcome O] [--limit N] | runs --batches',
  configure: (c) => c
    .option('--host <target>', 'only runs whose target contains this')
    .option('--outcome <outcome>', 'only runs with this outcome (upgraded, rehearsed, check-failed, conflict, rolled-back, ...)')
    .option('--limit <n>', 'at most this many runs', '50')
    .option('--batches', 'list fleet batches instead: state, hosts done, the fleet file'),
  async run(rt, _args, opts) {
    const limit = Number(opts.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UnderstudyError('usage', `--limit must be a positive whole number, not '${opts.limit}'`);
    if (opts.outcome && !OUTCOMES.includes(opts.outcome)) {
      throw new UnderstudyError('usage', `--outcome must be one of ${OUTCOMES.join(', ')}; got '${opts.outcome}'`);
    }
    if (!hasRunStore(rt.store)) { // an empty listing of what was asked for, without creating the store
      if (opts.batches) printResult(rt.out, { batches: [] }, () => 'no batches');
      else printResult(rt.out, { runs: [] }, () => `no runs in ${rt.store}`);
      return 0;
    }
    const store = new RunStore(rt.store);
    try {
      if (opts.batches) {
        const rows = new BatchStore(store).list(limit).map(batchRow);
        printResult(rt.out, { batches: rows }, () => batchesTable(rows));
        return 0;
      }
      const rows = store.list({ host: opts.host, outcome: opts.outcome, limit })
        .map((r) => runRow(r, ownerRuns));
      printResult(rt.out, { runs: rows }, () => runsTable(rows));
    } finally { store.close(); }
    return 0;
  },
};

/** running (its process is alive), interrupted (resume it), or how it ended. */
function batchRow(b: BatchRecord) {
  const state = b.finishedAt ? (b.ok ? 'ok' : b.stopped ? `stopped: ${b.stopped}` : 'finished with failures')
    : ownerRuns(b) ? 'running' : 'interrupted';
  const request = b.request as { fleet?: string };
  return {
    batch: b.id, kind: b.kind, state, started: b.createdAt, fleet: request.fleet ?? null,
    done: b.hosts.filter((h) => h.report).length, failed: b.hosts.filter((h) => h.status === 'failed').length,
    hosts: b.hosts.map((h) => ({ target: h.target, status: h.status, outcome: h.outcome ?? null, run: h.runId ?? null })),
  };
}

function batchesTable(rows: Array<ReturnType<typeof batchRow>>): string {
  if (rows.length === 0) return 'no batches';
  return formatTable(['BATCH', 'KIND', 'STATE', 'HOSTS DONE', 'STARTED', 'FLEET'],
    rows.map((r) => [r.batch, r.kind, r.state, `${r.done}/${r.hosts.length}`, r.started.replace('T', ' ').slice(0, 19), r.fleet ?? '']));
}
