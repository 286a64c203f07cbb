// Minimal QMP client (QEMU Machine Protocol, line-delimited JSON on a unix socket):
//   const q = await QmpClient.connect(socketPath, timeoutMs)   // greeting + qmp_capabilities done
//   await q.execute('system_powerdown'); await q.execute('quit'); q.close()
// One command at a time is enough for us; asynchronous events ({"event": ...}) are skipped.
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

type Reply = { return?: unknown; error?: { class: string; desc: string } };

export class QmpClient {
  private buf = '';
  private waiters: Array<{ resolve(r: Reply): void; reject(e: Error): void }> = [];
  private closedError: Error | undefined;

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    const fail = (e: Error) => {
      this.closedError ??= e;
      for (const w of this.waiters.splice(0)) w.reject(this.closedError);
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('QMP connection closed')));
  }

  /** Connects, retrying while QEMU has not created the socket yet. */
  static async connect(path: string, timeoutMs: number, signal?: AbortSignal): Promise<QmpClient> {
    const deadline = Date.now() + timeoutMs;
    let last: Error = new Error('timed out');
    while (Date.now() < deadline && !signal?.aborted) {
      try {
        const sock = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path);
          s.once('connect', () => { s.removeListener('error', reject); resolve(s); });
          s.once('error', reject);
        });
        const q = new QmpClient(sock);
        await q.next();                 // greeting
        await q.execute('qmp_capabilities');
        return q;
      } catch (e) {
        last = e as Error;
        await sleep(50);
      }
    }
    throw new Error(`QMP socket ${path}: ${last.message}`);
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      let msg: Reply & { event?: string; QMP?: unknown };
      try { msg = JSON.parse(line); } catch { continue; }
      if (msg.event) continue;
      this.waiters.shift()?.resolve(msg);
    }
  }

  private next(): Promise<Reply> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Rejects after timeoutMs: a wedged QEMU must not wedge its caller (kill() falls back to SIGKILL). */
  async execute(command: string, args?: Record<string, unknown>, timeoutMs = 5000): Promise<unknown> {
    const reply = this.next();
    this.sock.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([reply, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`QMP ${command}: no reply within ${timeoutMs} ms`)), timeoutMs);
    })]).finally(() => clearTimeout(timer));
    if (r.error) throw new Error(`QMP ${command}: ${r.error.class}: ${r.error.desc}`);
    return r.return;
  }

  close(): void { this.sock.destroy(); }
}
