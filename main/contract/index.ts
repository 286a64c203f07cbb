// The wire contract shared by every transport: commands, events, envelopes, data shapes.
export * from './envelope.ts';
export * from './shapes.ts';
export * from './commands.ts';
export * from './events.ts';
export * from './transport.ts';
