// The guestfwd programs a pool member runs (perl, else python3): a guest connection on stdin/stdout spliced
// to a loopback port, guest EOF passed on as a half-close (an HTTP client that sends its request and
// shuts its side still gets the answer), upstream EOF ending the relay; nothing but the interpreter needed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const script = (ext: string) => fileURLToPath(new URL(`../../../main/adapters/pool/member-relay.${ext}`, import.meta.url));

async function upstream(handler: (data: Buffer, end: (reply: Buffer | string) => void) => void): Promise<{ port: number; close(): void }> {
  const srv = createServer({ allowHalfOpen: true }, (s) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => handler(Buffer.concat(chunks), (reply) => s.end(reply)));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return { port: (srv.address() as { port: number }).port, close: () => srv.close() };
}

function relay(interp: string, ext: string, port: number, input: Buffer): Promise<{ out: Buffer; code: number | null }> {
  const p = spawn(interp, [script(ext), '127.0.0.1', String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  p.stdout.on('data', (c: Buffer) => chunks.push(c));
  p.stdin.end(input);
  return new Promise((r) => p.on('close', (code) => r({ out: Buffer.concat(chunks), code })));
}

for (const [interp, ext] of [['perl', 'pl'], ['python3', 'py']] as const) {
  const have = spawnSync(interp, interp === 'perl' ? ['-e', '1'] : ['-c', '0']).status === 0;
  describe(`member relay (${interp})`, { skip: !have && `${interp} is not installed here` }, () => {
    it('answers a request whose sender half-closed, byte for byte', async () => {
      const up = await upstream((data, end) => end(`got ${data.length}: ${data.toString()}`));
      try {
        const r = await relay(interp, ext, up.port, Buffer.from('GET / HTTP/1.0\r\n\r\n'));
        assert.equal(r.out.toString(), 'got 18: GET / HTTP/1.0\r\n\r\n');
        assert.equal(r.code, 0);
      } finally { up.close(); }
    });
    it('carries binary data larger than its buffers both ways', async () => {
      const payload = Buffer.alloc(3 << 20);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919) & 0xff;
      const up = await upstream((data, end) => end(data));
      try {
        const r = await relay(interp, ext, up.port, payload);
        assert.ok(r.out.equals(payload), 'the echo came back byte for byte');
      } finally { up.close(); }
    });
    it('fails (non-zero) when nothing listens', async () => {
      const up = await upstream(() => {});
      up.close();
      await new Promise((r) => setTimeout(r, 50));
      const r = await relay(interp, ext, up.port, Buffer.from('x'));
      assert.notEqual(r.code, 0);
    });
  });
}
