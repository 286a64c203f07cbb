// In-process transport (tests, and anything running beside the engine): same contract, no socket.
// Values go through JSON both ways so a test sees exactly what a real wire would carry.
import type { CommandArgs, CommandName, CommandResult } from './commands.ts';
import type { Envelope } from './envelope.ts';
import type { EventName, EventPayload } from './events.ts';
import type { Transport } from './transport.ts';

export type CommandHandler = (cmd: string, args: unknown) => Promise<Envelope<unknown>>;
export type EventSource = (emit: (event: EventName, payload: unknown) => void) => () => void;

const wire = <T>(v: T): T => (v === undefined ? v : JSON.parse(JSON.stringify(v)));

export function createInProcessTransport(handle: CommandHandler, source: EventSource): Transport & { close(): void } {
  const subs = new Map<string, Set<(p: unknown) => void>>();
  const stop = source((event, payload) => {
    for (const cb of [...(subs.get(event) ?? [])]) cb(wire(payload));
  });
  return {
    async invoke<C extends CommandName>(cmd: C, args: CommandArgs<C>) {
      return wire(await handle(cmd, wire(args))) as Envelope<CommandResult<C>>;
    },
    on<E extends EventName>(event: E, cb: (payload: EventPayload<E>) => void) {
      let set = subs.get(event);
      if (!set) subs.set(event, (set = new Set()));
      const fn = cb as (p: unknown) => void;
      set.add(fn);
      return () => { set.delete(fn); };
    },
    close: stop,
  };
}
