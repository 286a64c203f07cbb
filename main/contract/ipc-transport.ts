// Electron IPC transport: wraps the one narrow `api` the preload exposes as `window.understudy`.
// The preload already speaks envelopes, so this only adds the types.
import type { CommandArgs, CommandName, CommandResult } from './commands.ts';
import type { Envelope } from './envelope.ts';
import type { EventName, EventPayload } from './events.ts';
import type { Transport } from './transport.ts';

/** Exactly what electron/preload.ts exposes through contextBridge: functions, no ipcRenderer. */
export interface UnderstudyApi {
  invoke(cmd: string, args: unknown): Promise<Envelope<unknown>>;
  on(event: string, cb: (payload: unknown) => void): () => void;
}

/** IPC channel names shared by preload.ts and ipc-router.ts. */
export const ipcChannels = { invoke: 'understudy:invoke', event: 'understudy:event' } as const;

export function createIpcTransport(api: UnderstudyApi): Transport {
  return {
    invoke<C extends CommandName>(cmd: C, args: CommandArgs<C>) {
      return api.invoke(cmd, args) as Promise<Envelope<CommandResult<C>>>;
    },
    on<E extends EventName>(event: E, cb: (payload: EventPayload<E>) => void) {
      return api.on(event, cb as (p: unknown) => void);
    },
  };
}
