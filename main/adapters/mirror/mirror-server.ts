// A read-only HTTP server for an apt mirror directory, on 127.0.0.1 (random port):
//   const m = await serveMirror(dir)   -> { port, url, close() }
// GET/HEAD only; files only (no listings); a path that escapes DIR (.., symlink out of it, NUL) is 404.
// Paired with relayCommand(): the guestfwd program that carries a guest connection to it.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { sep } from 'node:path';
import { UnderstudyError } from '../../core/domain/errors.ts';

export interface MirrorServer {
  readonly port: number;
  readonly url: string;
  /** Number of requests answered (for logs and tests). */
  readonly requests: number;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.deb': 'application/vnd.debian.binary-package', '.gz': 'application/gzip', '.xz': 'application/x-xz' };

export async function serveMirror(dir: string): Promise<MirrorServer> {
  let root: string;
  try {
    root = await realpath(dir);
    if (!(await stat(root)).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    throw new UnderstudyError('usage', `mirror directory ${dir}: ${(e as Error).message}`);
  }
  let requests = 0;
  const server = createServer((req, res) => { requests++; void answer(root, req, res); });
  server.keepAliveTimeout = 30_000;
  // A client that sends its requests and half-closes (guest EOF passed on by the relay) still gets its
  // answers; by default Node drops pending requests on FIN.
  (server as unknown as { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    get requests() { return requests; },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

async function answer(root: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const fail = (status: number, text: string) => { res.writeHead(status, { 'content-type': 'text/plain' }).end(`${text}\n`); };
  if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'method not allowed');
  let rel: string;
  try { rel = decodeURIComponent(new URL(req.url ?? '/', 'http://mirror').pathname); } catch { return fail(400, 'bad path'); }
  if (rel.includes('\0')) return fail(404, 'not found');
  // Resolve symlinks too, and insist the result is still inside the mirror.
  let file: string;
  try { file = await realpath(root + sep + rel.replace(/^\/+/, '')); } catch { return fail(404, 'not found'); }
  if (file !== root && !file.startsWith(root + sep)) return fail(404, 'not found');
  const st = await stat(file).catch(() => undefined);
  if (!st?.isFile()) return fail(404, 'not found');
  const ext = file.slice(file.lastIndexOf('.'));
  res.writeHead(200, { 'content-type': TYPES[ext] ?? 'application/octet-stream', 'content-length': st.size,
    'last-modified': st.mtime.toUTCString() });
  if (req.method === 'HEAD') { res.end(); return; }
  createReadStream(file).on('error', () => res.destroy()).pipe(res);
}
