// A currently free TCP port on 127.0.0.1 (the kernel picks it). Another process may take it before QEMU
// binds it, so callers retry the start on "Could not set up host forwarding rule".
import { createServer } from 'node:net';

export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
