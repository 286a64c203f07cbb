#!/usr/bin/env node
// guestfwd relay: QEMU runs this once per guest connection (guestfwd=tcp:10.0.2.100:3128-cmd:node relay.mjs
// HOST PORT) with the connection on stdin/stdout, and it splices that to HOST:PORT (understudy's repository
// proxy on loopback). Half-closes pass through both ways, so HTTP keep-alive and requests
// that end with EOF both work. Plain JS on purpose: it starts in ~50 ms, with no TypeScript loader.
import net from 'node:net';

const [host, portText] = process.argv.slice(2);
const port = Number(portText);
if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write('usage: relay.mjs HOST PORT\n');
  process.exit(2);
}
const upstream = net.connect({ host, port, allowHalfOpen: true });
const bail = (why) => {
  process.stderr.write(`understudy relay ${host}:${port}: ${why}\n`);
  upstream.destroy();
  process.exit(1);
};
upstream.on('error', (e) => bail(e.message));
process.stdin.on('error', () => upstream.destroy());
process.stdout.on('error', () => upstream.destroy());
// pipe() ends the destination when the source ends: guest EOF -> upstream FIN, upstream EOF -> stdout EOF.
process.stdin.pipe(upstream);
upstream.pipe(process.stdout);
// Once upstream is gone, exit as soon as everything it sent has reached the guest (the guest may never
// close its side, which would keep stdin, and so this process, open).
upstream.on('close', () => {
  if (process.stdout.writableFinished) process.exit(0);
  process.stdout.once('finish', () => process.exit(0));
  process.stdout.once('close', () => process.exit(0));
});
