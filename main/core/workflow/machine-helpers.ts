// Pure helpers for the machine's context updates: stage timings and failure records.
import { isUnderstudyError } from '../domain/errors.ts';
import type { ContextPatch, RunFailure, StageTiming } from './run-types.ts';

export function openTiming(timings: Record<string, StageTiming>, stage: string, now = new Date()): Record<string, StageTiming> {
  const attempts = (timings[stage]?.attempts ?? 0) + 1;
  return { ...timings, [stage]: { startedAt: now.toISOString(), attempts } };
}

export function closeTiming(timings: Record<string, StageTiming>, stage: string, now = new Date()): Record<string, StageTiming> {
  const t = timings[stage];
  if (!t) return timings;
  const seconds = Math.max(0, (now.getTime() - Date.parse(t.startedAt)) / 1000);
  return { ...timings, [stage]: { ...t, seconds } };
}

export function failureFrom(stage: string, err: unknown): RunFailure {
  if (isUnderstudyError(err)) {
    return { stage, code: err.code, message: err.message, ...(err.details ? { details: jsonSafe(err.details) } : {}) };
  }
  return { stage, code: 'internal', message: err instanceof Error ? err.message : String(err) };
}

/** Evidence a failure carries that belongs in the run's result (check results, conflicts, health). */
export function patchFromFailure(err: unknown): ContextPatch {
  if (!isUnderstudyError(err) || !err.details) return {};
  const d = err.details;
  const patch: ContextPatch = {};
  if (Array.isArray(d.checks)) patch.checks = d.checks as ContextPatch['checks'];
  if (Array.isArray(d.conflicts)) patch.conflicts = d.conflicts as ContextPatch['conflicts'];
  if (Array.isArray(d.health)) patch.health = d.health as ContextPatch['health'];
  if (Array.isArray(d.preflight)) patch.preflight = d.preflight as ContextPatch['preflight'];
  if (d.reboot && typeof d.reboot === 'object') patch.reboot = d.reboot as ContextPatch['reboot'];
  if (d.network && typeof d.network === 'object') patch.network = d.network as ContextPatch['network'];
  return patch;
}

/** Details end up in the persisted snapshot: keep them plain JSON. */
function jsonSafe(details: Record<string, unknown>): Record<string, unknown> {
  try { return JSON.parse(JSON.stringify(details)) as Record<string, unknown>; } catch { return {}; }
}
