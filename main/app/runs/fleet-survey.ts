// A batch's survey, before anything boots: every host is captured (through the stage services'
// captureHost, `parallel` at a time), described (content id, OS release, package set: adapters/fleet/
// host-basis.ts) and grouped (core/domain/fleet-groups.ts). Each host's run then starts from the map1
// the survey took (the swap's drift check compares the live host with it, as for any run). A host the
// survey cannot capture is left out of the groups: its own run captures it again (and reports why not).
import { isUnderstudyError } from '../../core/domain/errors.ts';
import { groupHosts, type FleetMember, type HostGroup } from '../../core/domain/fleet-groups.ts';
import { rehearsalKey, type RehearsalKey } from '../../core/workflow/shared-rehearsal.ts';
import type { StageServices } from '../../core/workflow/stage-services.ts';

export interface SurveyHost { target: string; command: string; checks: string[] }

export interface SurveyedHost { target: string; map1: string; content: string }

export interface Survey {
  hosts: SurveyedHost[];
  groups: HostGroup[];
  /** Hosts the survey could not capture or describe. */
  failed: Array<{ target: string; error: string }>;
  seconds: number;
}

export interface SurveyRequest {
  hosts: SurveyHost[];
  parallel: number;
  signal?: AbortSignal;
  /** Captures a host; returns its map1. */
  capture(host: SurveyHost, signal: AbortSignal | undefined): Promise<string>;
  /** Content id and basis of a host's map1 (the default, for maps the store cannot describe: the map id as content). */
  describe?(host: SurveyHost, map1: string): Promise<FleetMember>;
  onHost?(target: string, outcome: { map1: string } | { error: string }): void;
}

const planOf = (h: SurveyHost) => JSON.stringify([h.command, h.checks]);

export async function surveyFleet(req: SurveyRequest): Promise<Survey> {
  const started = Date.now();
  const members = new Map<string, FleetMember>();
  const map1s = new Map<string, string>();
  const failed: Survey['failed'] = [];
  const queue = [...req.hosts];
  const worker = async () => {
    for (let h = queue.shift(); h && !req.signal?.aborted; h = queue.shift()) {
      try {
        const map1 = await req.capture(h, req.signal);
        map1s.set(h.target, map1);
        members.set(h.target, req.describe ? await req.describe(h, map1) : { target: h.target, content: map1, basis: null, plan: planOf(h) });
        req.onHost?.(h.target, { map1 });
      } catch (err) {
        if (req.signal?.aborted) throw err;
        const error = isUnderstudyError(err) || err instanceof Error ? err.message : String(err);
        failed.push({ target: h.target, error });
        req.onHost?.(h.target, { error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(req.parallel, req.hosts.length)) }, worker));
  req.signal?.throwIfAborted();
  const inOrder = req.hosts.filter((h) => members.has(h.target));
  return {
    hosts: inOrder.map((h) => ({ target: h.target, map1: map1s.get(h.target)!, content: members.get(h.target)!.content })),
    groups: groupHosts(inOrder.map((h) => members.get(h.target)!)),
    failed: req.hosts.filter((h) => failed.some((f) => f.target === h.target)).map((h) => failed.find((f) => f.target === h.target)!),
    seconds: (Date.now() - started) / 1000,
  };
}

/** A host of a surveyed batch: its map1, its group and the group's index. */
export function surveyedHost(survey: Survey | undefined, target: string): { map1: string; content: string; group?: HostGroup; index?: number } | undefined {
  const h = survey?.hosts.find((x) => x.target === target);
  if (!h) return undefined;
  const index = survey!.groups.findIndex((g) => g.members.includes(target));
  return { ...h, ...(index >= 0 ? { group: survey!.groups[index]!, index } : {}) };
}

/**
 * Which runs of the batch share a rehearsal: with sharing off, none (each host alone); a surveyed host
 * whose run starts from the survey's map1 shares its group's (the group key already holds the plan);
 * anything else keys by plan and map1 as any batch does.
 */
export function fleetRehearsalKey(survey: Survey | undefined, sharing: boolean, fallback: RehearsalKey = rehearsalKey): RehearsalKey {
  return (input, map1) => {
    if (!sharing) return JSON.stringify(['alone', input.target, input.runId]);
    const h = surveyedHost(survey, input.target);
    if (!h?.group || h.map1 !== map1) return fallback(input, map1);
    const o = input.options;
    return JSON.stringify(['group', h.group.key, o.mirror ?? null, o.kernel ?? null, o.initrd ?? null]);
  };
}

/** A run of a surveyed host starts from the map1 the survey took (the swap's drift check still compares the live host with it). */
export function fromSurvey(inner: StageServices, survey: Survey | undefined): StageServices {
  if (!survey) return inner;
  return {
    ...inner,
    async captureHost(a, io) {
      const h = surveyedHost(survey, a.target);
      if (!h) return inner.captureHost(a, io);
      io.log('info', 'capture', `map1 ${h.map1} (content ${h.content.slice(0, 12)}), taken by the batch's survey`);
      return { map1: h.map1 };
    },
  };
}
