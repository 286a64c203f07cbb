// An SSH server for the ssh adapter's tests: ssh2's, in-process, on loopback. It accepts one user key,
// runs each exec with /bin/sh -c in its own process group and, like sshd, sends the exit status (or the
// signal that ended the command) only once stdout and stderr are drained; a closed channel kills the
// command's process group, so no orphan keeps the server's pipes open after a test.
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import ssh2 from 'ssh2';

export interface SshTestServer { server: ssh2.Server; port: number; close(): Promise<void> }

/** The fields ssh2 1.17's channel keeps for a write that waits for window (not in its types). */
interface WindowWait { _chunk?: Buffer; _chunkcb?: () => void; _chunkErr?: Buffer; _chunkcbErr?: () => void }

/**
 * Forwards a command's stdout and stderr into the channel one chunk at a time, across both streams.
 * ssh2 1.17's server resumes only one of a stdout and a stderr write that both wait for window
 * (server.js, CHANNEL_WINDOW_ADJUST: `if (_chunk) ... else if (_chunkErr)`), and never clears a resumed
 * stdout chunk, so a stderr write waiting later makes it send that chunk again. Piped side by side, a
 * command writing to both under back-pressure stalled forever (seen in the RemoteShell contract test:
 * 100 KB of stderr queued, window open, nothing sent). sshd has neither problem, and the ssh adapter is a
 * client, which only ever writes one stream; so the test server, not the adapter, works around it.
 */
function forwardOneChunkAtATime(out: Readable, err: Readable, ch: ssh2.ServerChannel): () => Promise<void> {
  let queue = Promise.resolve();
  const forget = () => { Object.assign(ch as unknown as WindowWait, { _chunk: undefined, _chunkcb: undefined, _chunkErr: undefined, _chunkcbErr: undefined }); };
  const forward = (from: Readable, to: Writable) => from.on('data', (c: Buffer) => {
    from.pause();
    queue = queue.then(() => new Promise<void>((written) => {
      to.write(c, () => { forget(); written(); });
    })).then(() => { from.resume(); });
  });
  forward(out, ch);
  forward(err, ch.stderr);
  return () => queue;
}

export function startSshTestServer(hostKey: string | Buffer, userPublicKey: string | Buffer): Promise<SshTestServer> {
  const userPub = ssh2.utils.parseKey(userPublicKey) as ssh2.ParsedKey;
  const server = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
    client.on('error', () => {});
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || !ctx.key.data.equals(userPub.getPublicSSH())) return ctx.reject(['publickey']);
      if (!ctx.signature) return ctx.accept(); // the "would this key do?" query
      return userPub.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true ? ctx.accept() : ctx.reject();
    });
    client.on('ready', () => client.on('session', (acceptSession) => {
      acceptSession().on('exec', (accept, _reject, info) => {
        const ch = accept();
        const p = spawn('/bin/sh', ['-c', info.command], { stdio: 'pipe', detached: true });
        ch.pipe(p.stdin).on('error', () => {});
        p.stdin.on('error', () => {});
        const drained = forwardOneChunkAtATime(p.stdout, p.stderr, ch);
        ch.on('close', () => { try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ } });
        p.on('close', (code, signal) => {
          void drained().then(() => {
            if (signal) ch.exit(signal, false, ''); else ch.exit(code ?? 255);
            ch.end();
          });
        });
      });
    }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  })));
}
