// The command table: every command on the wire, `domain:verb`, with its argument and result schemas.
// Servers validate args with these schemas before anything runs; clients get typed results.
import { z } from 'zod';
import { Assessment, BatchView, HostInfo, MapInfo, RunDetail, RunRequest, RunStatus, RunSummary } from './shapes.ts';

const RunRef = z.object({ run: z.string().min(1) });
const Started = z.object({ run: z.string() });

export const ConflictChoice = z.object({ path: z.string().min(1), prefer: z.enum(['host', 'sandbox']) });
export type ConflictChoice = z.infer<typeof ConflictChoice>;

export const commands = {
  'runs:list': {
    args: z.object({ host: z.string().optional(), status: RunStatus.optional(), outcome: z.string().optional(), limit: z.number().int().positive().max(10_000).optional() }),
    result: z.array(RunSummary),
  },
  'runs:get': { args: RunRef, result: RunDetail },
  'run:start': { args: RunRequest, result: Started },
  /** Approve at the review gate; one choice per conflicting path (unchosen conflicts refuse the swap). */
  'run:approve': { args: RunRef.extend({ choices: z.array(ConflictChoice).default([]) }), result: Started },
  /** Decline at the review gate: the host is left untouched. */
  'run:abort': { args: RunRef, result: Started },
  /** Stop a running run from any stage; the engine cleans up sandboxes and temp state. */
  'run:cancel': { args: RunRef, result: Started },
  /** Continue an interrupted run (its process died) from the stage it was in. */
  'run:resume': { args: RunRef, result: Started },
  /** Undo the swap of a finished run; returns the id of the new rollback run. */
  'run:rollback': { args: RunRef, result: Started },
  'hosts:list': { args: z.object({}), result: z.array(HostInfo) },
  'hosts:assess': { args: z.object({ target: z.string().min(1) }), result: Assessment },
  'maps:list': { args: z.object({}), result: z.array(MapInfo) },
  /** Fleet batches, newest first: groups (known before anything boots), each host's state and rehearsal. */
  'batches:list': { args: z.object({ limit: z.number().int().positive().max(1000).optional() }), result: z.array(BatchView) },
} as const;

export type CommandName = keyof typeof commands;
export const commandNames = Object.keys(commands) as CommandName[];
/** What a caller passes (defaults may be omitted). */
export type CommandArgs<C extends CommandName> = z.input<(typeof commands)[C]['args']>;
/** What a handler receives after validation (defaults filled in). */
export type ParsedArgs<C extends CommandName> = z.output<(typeof commands)[C]['args']>;
export type CommandResult<C extends CommandName> = z.output<(typeof commands)[C]['result']>;

export const isCommandName = (s: unknown): s is CommandName =>
  typeof s === 'string' && Object.prototype.hasOwnProperty.call(commands, s);
