// `understudy serve`: the renderer and the contract over one WebSocket, on 127.0.0.1 only. Every HTTP
// request and the WebSocket upgrade need the per-launch token; without it: 401 and nothing runs.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { RequestFrame, type EventName, type ServerFrame } from '../contract/index.ts';
import { cookieName, cookieToken, hostAllowed, newToken, originAllowed, tokenMatches } from './auth.ts';
import { createCommandRouter } from './command-router.ts';
import type { EngineFacade } from './engine-facade.ts';
import { securityHeaders, serveStatic } from './static-files.ts';

export interface ServeOptions {
  engine: EngineFacade;
  /** Directory holding the built renderer (index.html, app.js, app.css). */
  distDir: string;
  /** 0 = any free port. */
  port?: number;
  /** Tests may pin it; otherwise a fresh random one per launch. */
  token?: string;
}

export interface RunningServer {
  port: number;
  token: string;
  /** The page URL an operator opens: http://127.0.0.1:PORT/?token=TOKEN */
  url: string;
  close(): Promise<void>;
}

/** A slow client gets no more progress frames once this much is queued (stage and log frames still go). */
const SLOW_CLIENT_BYTES = 4 * 1024 * 1024;

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const token = opts.token ?? newToken();
  const route = createCommandRouter(opts.engine);
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const server: Server = createServer();
  let port = 0;

  const authorized = (req: IncomingMessage, allowCookie: boolean): boolean => {
    if (!hostAllowed(req, port)) return false;
    const query = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
    return tokenMatches(query, token) || (allowCookie && tokenMatches(cookieToken(req, port), token));
  };

  server.on('request', (req, res) => {
    const headers = securityHeaders(port);
    if (!authorized(req, true)) {
      res.writeHead(401, { ...headers, 'Content-Type': 'text/plain' }).end('401: missing or wrong token\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, headers).end('method not allowed');
      return;
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const cookie = `${cookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`;
    void serveStatic(opts.distDir, path, res, path === '/' ? { ...headers, 'Set-Cookie': cookie } : headers);
  });

  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    // The WebSocket needs the token in its query: a cookie alone could be replayed by another page.
    if (path !== '/ws' || !authorized(req, false) || !originAllowed(req, port)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  wss.on('connection', (ws: WebSocket) => {
    ws.on('message', async (data, isBinary) => {
      if (isBinary) return;
      let frame: RequestFrame;
      try {
        frame = RequestFrame.parse(JSON.parse(data.toString()));
      } catch {
        ws.close(1003, 'frames must be {id, cmd, args} JSON');
        return;
      }
      const result = await route(frame.cmd, frame.args);
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id: frame.id, result } satisfies ServerFrame));
    });
  });

  const broadcast = (event: EventName, payload: unknown, droppable: boolean) => {
    const text = JSON.stringify({ event, payload });
    for (const ws of wss.clients) {
      if (ws.readyState !== ws.OPEN || (droppable && ws.bufferedAmount > SLOW_CLIENT_BYTES)) continue;
      ws.send(text);
    }
  };
  const unsubscribe = opts.engine.subscribe({
    event: (e) => broadcast('run:event', e, e.type === 'progress'),
    updated: (s) => broadcast('run:updated', s, false),
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  return {
    port,
    token,
    url: `http://127.0.0.1:${port}/?token=${token}`,
    async close() {
      unsubscribe();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
