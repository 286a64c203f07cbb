// A TCP connection to a repository's host:port for a CONNECT tunnel: straight to the checked address, or
// through an http upstream proxy's own CONNECT. Fails with the cause (timeout, refused, the proxy's answer).
import { connect, type Socket } from 'node:net';
import type { UpstreamProxy } from './upstream-proxy.ts';
import { timeoutError } from './upstream-errors.ts';

const bracket = (h: string) => (h.includes(':') ? `[${h}]` : h);

function open(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    const fail = (e: Error) => { s.destroy(); reject(e); };
    s.setTimeout(timeoutMs, () => fail(timeoutError()));
    s.once('error', fail);
    s.once('connect', () => { s.setTimeout(0); s.off('error', fail); resolve(s); });
  });
}

/** Sends CONNECT to the proxy and waits for its answer; any bytes after the answer's head are kept. */
async function throughProxy(proxy: UpstreamProxy, host: string, port: number, timeoutMs: number): Promise<{ socket: Socket; rest: Buffer }> {
  const s = await open(proxy.host, proxy.port, timeoutMs);
  const target = `${bracket(host)}:${port}`;
  s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${proxy.authorization ? `Proxy-Authorization: ${proxy.authorization}\r\n` : ''}\r\n`);
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const fail = (e: Error) => { s.destroy(); reject(e); };
    s.setTimeout(timeoutMs, () => fail(timeoutError()));
    s.on('error', fail);
    s.on('end', () => fail(new Error(`upstream proxy ${proxy.label} closed the connection`)));
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) { if (buf.length > 16384) fail(new Error(`upstream proxy ${proxy.label}: answer too long`)); return; }
      s.off('data', onData); s.removeAllListeners('end'); s.off('error', fail); s.setTimeout(0);
      const status = /^HTTP\/1\.[01] (\d{3})([^\r]*)/.exec(buf.subarray(0, end).toString('latin1'));
      if (!status || status[1] !== '200') return fail(new Error(`upstream proxy ${proxy.label} answered CONNECT with ${status ? `${status[1]}${status[2]}` : 'no HTTP status'}`));
      resolve({ socket: s, rest: buf.subarray(end + 4) });
    };
    s.on('data', onData);
  });
}

export async function tunnelSocket(o: { host: string; port: number; address?: string; proxy?: UpstreamProxy; timeoutMs: number }): Promise<{ socket: Socket; rest: Buffer }> {
  if (o.proxy) return throughProxy(o.proxy, o.host, o.port, o.timeoutMs);
  return { socket: await open(o.address ?? o.host, o.port, o.timeoutMs), rest: Buffer.alloc(0) };
}
