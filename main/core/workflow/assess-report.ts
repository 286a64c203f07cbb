// The protection report for a target (`assess`), pure: facts in, a verdict per item and overall out.
// A fact that could not be gathered is `unknown` with the reason, never a guessed ok.

export type Verdict = 'ok' | 'warn' | 'fail' | 'unknown';
export interface AssessItem { name: string; verdict: Verdict; detail: string }
export interface Assessment { target: string; verdict: Verdict; items: AssessItem[] }

/** Each fact: a value, or the reason it is not known. */
export type Fact<T> = { value: T } | { unknown: string };

export interface AssessFacts {
  target: string;
  now: Date;
  lastMap: Fact<{ id: string; capturedAt: string } | undefined>;
  storeIntact: Fact<{ ok: boolean; corrupt: number; maps: number }>;
  rollbackPoint: Fact<{ map: string; run?: string } | undefined>;
  journalClean: Fact<{ clean: boolean; detail?: string }>;
  freeSpace: Fact<{ freeBytes: number; neededBytes: number }>;
}

export interface AssessPolicy { mapWarnDays: number; mapFailDays: number; spareRatio: number }
export const DEFAULT_POLICY: AssessPolicy = { mapWarnDays: 7, mapFailDays: 30, spareRatio: 1.2 };

const RANK: Record<Verdict, number> = { ok: 0, unknown: 1, warn: 2, fail: 3 };

export function worst(vs: Verdict[]): Verdict {
  return vs.reduce<Verdict>((a, b) => (RANK[b] > RANK[a] ? b : a), 'ok');
}

function item<T>(name: string, f: Fact<T>, judge: (v: T) => { verdict: Verdict; detail: string }): AssessItem {
  return 'unknown' in f ? { name, verdict: 'unknown', detail: f.unknown } : { name, ...judge(f.value) };
}

const days = (ms: number) => ms / 86_400_000;
const gb = (n: number) => `${(n / 1e9).toFixed(1)} GB`;

export function assessReport(f: AssessFacts, p: AssessPolicy = DEFAULT_POLICY): Assessment {
  const items: AssessItem[] = [
    item('last verified map', f.lastMap, (m) => {
      if (!m) return { verdict: 'fail', detail: 'no map of this host: capture one' };
      const age = days(f.now.getTime() - Date.parse(m.capturedAt));
      const detail = `${m.id.slice(0, 12)} captured ${age < 1 ? `${Math.round(age * 24)} h` : `${Math.floor(age)} days`} ago`;
      return { verdict: age > p.mapFailDays ? 'fail' : age > p.mapWarnDays ? 'warn' : 'ok', detail };
    }),
    item('store intact', f.storeIntact, (s) => !s.ok
      ? { verdict: 'fail', detail: `${s.corrupt} corrupt or missing objects: run understudy verify` }
      : s.maps === 0 ? { verdict: 'unknown', detail: 'the store holds no maps yet' }
        : { verdict: 'ok', detail: `every object of ${s.maps} maps matches its hash` }),
    item('rollback point', f.rollbackPoint, (r) => r
      ? { verdict: 'ok', detail: `map ${r.map.slice(0, 12)} can be put back${r.run ? ` (run ${r.run})` : ''}` }
      : { verdict: 'warn', detail: 'no complete map to roll back to' }),
    item('host journal clean', f.journalClean, (j) => j.clean
      ? { verdict: 'ok', detail: 'no interrupted swap or rollback' }
      : { verdict: 'fail', detail: j.detail ?? 'an interrupted swap or rollback: run understudy recover' }),
    item('free space for a swap', f.freeSpace, (s) => {
      const detail = `${gb(s.freeBytes)} free, a swap needs ${gb(s.neededBytes)}`;
      return { verdict: s.freeBytes >= s.neededBytes * p.spareRatio ? 'ok' : s.freeBytes >= s.neededBytes ? 'warn' : 'fail', detail };
    }),
  ];
  return { target: f.target, verdict: worst(items.map((i) => i.verdict)), items };
}
