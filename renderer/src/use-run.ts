// One run, live: loads runs:get, then folds run:event stage/progress/log events into it and reloads
// the detail (status, review evidence, timings) whenever a stage changes or the summary updates.
import { useEffect, useRef, useState } from 'react';
import type { RunDetail, RunEvent } from '../../main/contract/index.ts';
import { useTransport } from './transport-context.tsx';

type LogEvent = Extract<RunEvent, { type: 'log' }>;
type ProgressEvent = Extract<RunEvent, { type: 'progress' }>;

export interface LiveRun {
  detail?: RunDetail;
  error?: string;
  logs: LogEvent[];
  progress?: ProgressEvent;
}

const MAX_LINES = 5000;
const logKey = (l: LogEvent) => `${l.at}\0${l.stream}\0${l.source}\0${l.text}`;

export function useRun(id: string): LiveRun & { reload: () => void } {
  const t = useTransport();
  const [state, setState] = useState<LiveRun>({ logs: [] });
  const seen = useRef(new Set<string>());
  const reloadRef = useRef<() => void>(() => {});

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let unfinished = false;
    seen.current = new Set();
    setState({ logs: [] });

    // Output can arrive hundreds of lines a second: buffer and render at most ~10 times a second.
    let buffered: LogEvent[] = [];
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      flushTimer = undefined;
      const lines = buffered;
      buffered = [];
      if (live && lines.length) setState((s) => ({ ...s, logs: [...s.logs, ...lines].slice(-MAX_LINES) }));
    };
    const appendLogs = (lines: LogEvent[]) => {
      for (const l of lines) {
        const k = logKey(l);
        if (seen.current.has(k)) continue;
        seen.current.add(k);
        buffered.push(l);
      }
      if (buffered.length && !flushTimer) flushTimer = setTimeout(flush, 100);
    };
    const load = async () => {
      const env = await t.invoke('runs:get', { run: id });
      if (!live) return;
      if (!env.ok) { setState((s) => ({ ...s, error: env.error.message })); return; }
      unfinished = env.value.status === 'running' || env.value.status === 'review';
      setState((s) => ({ ...s, detail: env.value, error: undefined }));
      appendLogs(env.value.logs);
    };
    // Several events often arrive together: coalesce their reloads.
    const reloadSoon = () => { clearTimeout(timer); timer = setTimeout(() => void load(), 120); };
    reloadRef.current = reloadSoon;

    const offEvent = t.on('run:event', (e) => {
      if (e.run !== id) return;
      if (e.type === 'log') appendLogs([e]);
      else if (e.type === 'progress') setState((s) => ({ ...s, progress: e }));
      else {
        setState((s) => (s.detail ? { ...s, detail: applyStage(s.detail, e) } : s));
        reloadSoon();
      }
    });
    const offUpdated = t.on('run:updated', (s) => { if (s.id === id) reloadSoon(); });
    // A run driven by another process (a CLI upgrade) sends no events here: poll while it is not finished.
    const poll = setInterval(() => { if (unfinished) void load(); }, 3000);
    void load();
    return () => { live = false; clearTimeout(timer); clearTimeout(flushTimer); clearInterval(poll); offEvent(); offUpdated(); };
  }, [t, id]);

  return { ...state, reload: () => reloadRef.current() };
}

function applyStage(d: RunDetail, e: Extract<RunEvent, { type: 'stage' }>): RunDetail {
  const stages = d.stages.some((s) => s.name === e.stage) ? d.stages : [...d.stages, { name: e.stage, state: 'pending' as const }];
  return {
    ...d,
    stage: e.state === 'active' ? e.stage : d.stage,
    stages: stages.map((s) => s.name !== e.stage ? s : {
      ...s, state: e.state, seconds: e.seconds ?? s.seconds, error: e.error ?? s.error, note: e.note ?? s.note,
      startedAt: e.state === 'active' ? e.at : s.startedAt,
    }),
  };
}
