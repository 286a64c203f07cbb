// WebSocket transport (renderer side, browser WebSocket). Reconnects with backoff; requests in flight
// when the socket drops resolve as `disconnected` instead of hanging.
import type { CommandArgs, CommandName, CommandResult } from './commands.ts';
import { TransportErrorCode, fail, type Envelope } from './envelope.ts';
import type { EventName, EventPayload } from './events.ts';
import { Listeners, ServerFrame, type Transport } from './transport.ts';

export type ConnectionState = 'connecting' | 'open' | 'closed';

export interface WsTransport extends Transport {
  /** Connection state changes (the UI shows a banner while not open). */
  onState(cb: (s: ConnectionState) => void): () => void;
  close(): void;
}

type SocketCtor = new (url: string) => WebSocket;

export function createWsTransport(url: string, Socket: SocketCtor = WebSocket): WsTransport {
  const listeners = new Listeners();
  const pending = new Map<number, (env: Envelope<unknown>) => void>();
  const queue: string[] = [];
  let nextId = 1;
  let socket: WebSocket | undefined;
  let closed = false;
  let retryMs = 250;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;

  const setState = (s: ConnectionState) => listeners.emit('\0state', s);

  function connect(): void {
    if (closed) return;
    setState('connecting');
    const ws = new Socket(url);
    socket = ws;
    ws.onopen = () => {
      retryMs = 250;
      setState('open');
      for (const frame of queue.splice(0)) ws.send(frame);
    };
    ws.onmessage = (msg) => {
      let frame: ServerFrame;
      try {
        frame = ServerFrame.parse(JSON.parse(String(msg.data))) as ServerFrame;
      } catch {
        return; // not ours to interpret; the server only sends ServerFrames
      }
      if ('id' in frame) {
        pending.get(frame.id)?.(frame.result);
        pending.delete(frame.id);
      } else {
        listeners.emit(frame.event, frame.payload);
      }
    };
    ws.onerror = () => { /* a close event follows; reconnecting is handled there */ };
    ws.onclose = () => {
      for (const [id, resolve] of pending) {
        resolve(fail(TransportErrorCode.disconnected, 'connection to understudy closed before it answered'));
        pending.delete(id);
      }
      setState('closed');
      if (!closed) retryTimer = setTimeout(connect, (retryMs = Math.min(retryMs * 2, 5000)));
    };
  }
  connect();

  return {
    invoke<C extends CommandName>(cmd: C, args: CommandArgs<C>): Promise<Envelope<CommandResult<C>>> {
      const id = nextId++;
      const frame = JSON.stringify({ id, cmd, args });
      return new Promise((resolve) => {
        pending.set(id, resolve as (env: Envelope<unknown>) => void);
        if (socket && socket.readyState === 1) socket.send(frame);
        else queue.push(frame);
      });
    },
    on<E extends EventName>(event: E, cb: (payload: EventPayload<E>) => void): () => void {
      return listeners.add(event, cb);
    },
    onState(cb) {
      return listeners.add('\0state', cb);
    },
    close() {
      closed = true;
      clearTimeout(retryTimer);
      socket?.close();
    },
  };
}
