// Events pushed from the engine to every face. Each carries the run id it belongs to.
import { z } from 'zod';
import type { RunEvent as DomainRunEvent } from '../core/domain/events.ts';
import { RunEvent, RunSummary } from './shapes.ts';

export const events = {
  /** A stage, progress or log event of one run (RunEvent already holds `run`). */
  'run:event': RunEvent,
  /** A run's summary changed (status, stage, outcome): lists refresh from this. */
  'run:updated': RunSummary,
} as const;

export type EventName = keyof typeof events;
export const eventNames = Object.keys(events) as EventName[];
export type EventPayload<E extends EventName> = z.output<(typeof events)[E]>;

export const isEventName = (s: unknown): s is EventName =>
  typeof s === 'string' && Object.prototype.hasOwnProperty.call(events, s);

// The wire schema and the engine's type must stay the same shape: this fails to compile if they drift.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _sameRunEvent: Same<z.output<typeof RunEvent>, DomainRunEvent> = true;
void _sameRunEvent;
