// Serves the built renderer (renderer/dist) with a strict CSP. Only files directly inside dist are
// served: no directory walking, no symlinks out of it.
import { readFile, realpath } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

export function securityHeaders(port: number): Record<string, string> {
  return {
    'Content-Security-Policy': [
      "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
      `connect-src ws://127.0.0.1:${port} ws://localhost:${port}`,
      "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}

export async function serveStatic(distDir: string, urlPath: string, res: ServerResponse, headers: Record<string, string>): Promise<void> {
  let name: string;
  try {
    name = urlPath === '/' ? 'index.html' : decodeURIComponent(urlPath.slice(1));
  } catch {
    name = ''; // malformed %-escape: treated as not found
  }
  const type = types[extname(name)];
  if (!type || name.includes('/') || name.includes('\\') || name.startsWith('.')) {
    res.writeHead(404, headers).end('not found');
    return;
  }
  try {
    const root = await realpath(distDir);
    const file = await realpath(join(root, name));
    if (!file.startsWith(root + sep)) throw new Error('outside dist');
    const body = await readFile(file);
    res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': String(body.length) }).end(body);
  } catch {
    res.writeHead(404, headers).end('not found');
  }
}
