// Batches as the UI shows them (contract BatchView): the survey's groups, each host's state, run,
// rehearsal and placement on the pool (from its report once finished, else from its run as far as it got:
// a running host shows its member and wait once placed), and its attempts put back in the queue.
import type { BatchView, RehearsalShare } from '../contract/index.ts';
import type { RunStore } from '../app/run-store/run-store.ts';
import { BatchStore } from '../app/run-store/batch-store.ts';
import { ownerRuns } from '../app/runs/process-alive.ts';
import type { HostPlacement } from '../app/runs/host-placement.ts';
import type { Placement } from '../core/workflow/run-types.ts';

/** Where a running host's sandbox was placed and how long it waited (its run's saved context). */
function livePlacement(runs: RunStore, runId: string | undefined): Pick<HostPlacement, 'member' | 'waitSeconds' | 'sharedRehearsal'> {
  const p = runId ? (runs.snapshot(runId) as { context?: { placement?: Placement } } | undefined)?.context?.placement : undefined;
  return p ? { member: p.member, waitSeconds: p.waitedSeconds, ...(p.shared ? { sharedRehearsal: true } : {}) } : {};
}

const placementFields = (p: HostPlacement): HostPlacement => ({
  ...(p.member !== undefined ? { member: p.member } : {}),
  ...(p.waitSeconds !== undefined ? { waitSeconds: p.waitSeconds } : {}),
  ...(p.rehearsalSeconds !== undefined ? { rehearsalSeconds: p.rehearsalSeconds } : {}),
  ...(p.sharedRehearsal ? { sharedRehearsal: true } : {}),
});

export function batchViews(runs: RunStore, limit = 20): BatchView[] {
  const store = new BatchStore(runs);
  return store.list(limit).map((b) => {
    const survey = b.survey;
    const groupOf = new Map<string, number>();
    survey?.groups.forEach((g, i) => g.members.forEach((m) => groupOf.set(m, i)));
    const content = new Map(survey?.hosts.map((h) => [h.target, h.content]) ?? []);
    return {
      id: b.id, kind: b.kind, createdAt: b.createdAt,
      ...(b.finishedAt ? { finishedAt: b.finishedAt } : {}),
      ...(b.ok !== undefined ? { ok: b.ok } : {}),
      ...(b.stopped ? { stopped: b.stopped } : {}),
      running: !b.finishedAt && ownerRuns(b),
      groups: survey?.groups.map((g) => ({ representative: g.representative, members: g.members, label: g.label, by: g.by })) ?? [],
      surveyFailed: survey?.failed ?? [],
      sharing: survey?.sharing ?? (b.request as { sharing?: boolean }).sharing !== false,
      hosts: b.hosts.map((h) => {
        const report = h.report as (HostPlacement & { rehearsal?: RehearsalShare; error?: string }) | undefined;
        const live = h.runId ? (runs.get(h.runId)?.result as { rehearsal?: RehearsalShare } | undefined)?.rehearsal : undefined;
        const rehearsal = report?.rehearsal ?? live;
        // a host back in the queue: its lost attempts are on the batch's record until its report has them
        const requeued = report?.requeued ?? h.requeued;
        return {
          target: h.target, status: h.status,
          ...(h.outcome ? { outcome: h.outcome } : {}),
          ...(h.runId ? { run: h.runId } : {}),
          ...(content.has(h.target) ? { content: content.get(h.target) } : {}),
          ...(groupOf.has(h.target) ? { group: groupOf.get(h.target) } : {}),
          ...(rehearsal ? { rehearsal } : {}),
          ...(report?.error ? { error: report.error } : {}),
          ...placementFields(report ?? (h.status === 'running' ? livePlacement(runs, h.runId) : {})),
          ...(requeued?.length ? { requeued } : {}),
        };
      }),
    };
  });
}
