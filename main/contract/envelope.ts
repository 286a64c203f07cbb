// Every response on the wire is an envelope: callers branch on `ok`, never on exceptions crossing a
// process or socket boundary. Error codes are the engine's typed codes plus transport-level ones.
import { z } from 'zod';

export const WireError = z.object({ code: z.string(), message: z.string() });
export type WireError = z.infer<typeof WireError>;

/** Codes the transport layer itself produces (the engine's ErrorCode values pass through as-is). */
export const TransportErrorCode = {
  badCommand: 'bad-command',     // unknown command name
  badArgs: 'usage',              // arguments failed the schema
  disconnected: 'disconnected',  // socket closed before an answer
  internal: 'internal',
} as const;

export type Envelope<T> = { ok: true; value: T } | { ok: false; error: WireError };

export function envelopeSchema<T extends z.ZodType>(value: T) {
  return z.discriminatedUnion('ok', [
    z.object({ ok: z.literal(true), value }),
    z.object({ ok: z.literal(false), error: WireError }),
  ]);
}

export const ok = <T>(value: T): Envelope<T> => ({ ok: true, value });
export const fail = (code: string, message: string): Envelope<never> => ({ ok: false, error: { code, message } });

/** For callers that prefer exceptions: returns the value or throws an Error carrying `code`. */
export function unwrap<T>(env: Envelope<T>): T {
  if (env.ok) return env.value;
  throw Object.assign(new Error(env.error.message), { code: env.error.code });
}
