// Batches as the UI shows them (contract BatchView): the survey's groups, each host's state, run and
// rehearsal (from its report once finished, else from its run's result as far as it got).
import type { BatchView, RehearsalShare } from '../contract/index.ts';
import type { RunStore } from '../app/run-store/run-store.ts';
import { BatchStore } from '../app/run-store/batch-store.ts';
import { ownerRuns } from '../app/runs/process-alive.ts';

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
      sharing: survey?.sharing ?? true,
      hosts: b.hosts.map((h) => {
        const report = h.report as { rehearsal?: RehearsalShare; error?: string } | undefined;
        const live = h.runId ? (runs.get(h.runId)?.result as { rehearsal?: RehearsalShare } | undefined)?.rehearsal : undefined;
        const rehearsal = report?.rehearsal ?? live;
        return {
          target: h.target, status: h.status,
          ...(h.outcome ? { outcome: h.outcome } : {}),
          ...(h.runId ? { run: h.runId } : {}),
          ...(content.has(h.target) ? { content: content.get(h.target) } : {}),
          ...(groupOf.has(h.target) ? { group: groupOf.get(h.target) } : {}),
          ...(rehearsal ? { rehearsal } : {}),
          ...(report?.error ? { error: report.error } : {}),
        };
      }),
    };
  });
}
