// The wire contract shared by every transport: commands, events, envelopes, data shapes.
//
// WebSocket (`understudy serve`): ws://127.0.0.1:PORT/ws?token=TOKEN. Client frames {id, cmd, args};
// server frames {id, result: Envelope} answering one command, or {event, payload} pushed to every client.
// Electron: the preload's window.understudy.invoke(cmd, args) -> Envelope and .on(event, cb) -> unsubscribe.
// Either way the server side validates `args` with the command's schema before anything runs.
export * from './envelope.ts';
export * from './shapes.ts';
export * from './commands.ts';
export * from './events.ts';
export * from './transport.ts';
