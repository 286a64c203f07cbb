// One Transport for every face: the renderer holds one and never knows whether it is Electron IPC, a
// WebSocket or an in-process call. Frames below are what travels over the WebSocket.
import { z } from 'zod';
import type { CommandArgs, CommandName, CommandResult } from './commands.ts';
import { WireError, type Envelope } from './envelope.ts';
import type { EventName, EventPayload } from './events.ts';

export interface Transport {
  /** Sends a command; resolves with its envelope (never rejects for engine or transport errors). */
  invoke<C extends CommandName>(cmd: C, args: CommandArgs<C>): Promise<Envelope<CommandResult<C>>>;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<E extends EventName>(event: E, cb: (payload: EventPayload<E>) => void): () => void;
}

/** Client -> server: a command with a caller-chosen id echoed in the reply. */
export const RequestFrame = z.object({ id: z.number().int().nonnegative(), cmd: z.string(), args: z.unknown() });
export type RequestFrame = z.infer<typeof RequestFrame>;

/** Server -> client: either the reply to request `id` or a pushed event. */
export const ServerFrame = z.union([
  z.object({
    id: z.number().int(),
    result: z.union([z.object({ ok: z.literal(true), value: z.unknown() }), z.object({ ok: z.literal(false), error: WireError })]),
  }),
  z.object({ event: z.string(), payload: z.unknown() }),
]);
export type ServerFrame = { id: number; result: Envelope<unknown> } | { event: EventName; payload: unknown };

/** A tiny listener registry shared by the transport implementations. */
export class Listeners {
  private readonly map = new Map<string, Set<(p: any) => void>>();
  add(event: string, cb: (p: any) => void): () => void {
    let set = this.map.get(event);
    if (!set) this.map.set(event, (set = new Set()));
    set.add(cb);
    return () => { set.delete(cb); };
  }
  emit(event: string, payload: unknown): void {
    for (const cb of [...(this.map.get(event) ?? [])]) {
      try { cb(payload); } catch (err) { console.error(`listener for ${event} failed`, err); }
    }
  }
}
