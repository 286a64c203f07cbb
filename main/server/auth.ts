// Per-launch token: anyone who can reach 127.0.0.1 (other users, a web page doing DNS rebinding) still
// cannot drive the engine without it. The page URL carries it once; the index response sets a
// port-scoped HttpOnly cookie so the static assets the page loads are authorized too.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const newToken = (): string => randomBytes(32).toString('base64url');

export function tokenMatches(given: string | null | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Cookies are shared across ports of one host, so the name carries the port. */
export const cookieName = (port: number): string => `understudy-token-${port}`;

export function cookieToken(req: IncomingMessage, port: number): string | undefined {
  const name = cookieName(port);
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/** Host header must name the loopback listener itself: refuses DNS-rebinding requests early. */
export function hostAllowed(req: IncomingMessage, port: number): boolean {
  const host = req.headers.host;
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

/** Browsers send Origin on WebSocket upgrades; when present it must be this server's page. */
export function originAllowed(req: IncomingMessage, port: number): boolean {
  const origin = req.headers.origin;
  return origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
}
