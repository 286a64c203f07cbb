// waitForSsh(port, privateKey, timeoutMs, signal?, opts?) -> connected SshShell
// Used right after a VM boot: QEMU's hostfwd accepts on 127.0.0.1:PORT long before the guest's sshd
// listens, so connect attempts fail fast (reset) or hang until readyTimeout; retry until the deadline.
// Defaults: host 127.0.0.1, user root, host keys accepted (a sandbox has fresh keys every run).
import { setTimeout as sleep } from 'node:timers/promises';
import { UnderstudyError, isUnderstudyError } from '../../core/domain/errors.ts';
import { connectSsh, type HostKeyPolicy, type SshShell } from './ssh-shell.ts';

export interface WaitForSshOptions {
  host?: string;
  username?: string;
  hostKeyPolicy?: HostKeyPolicy;
  /**
   * Bound of one attempt. A connection that slirp accepted while the guest's network is still down hangs
   * until this ends, so it is short; under heavy load a handshake still fits in it.
   */
  attemptTimeoutMs?: number;
  /** Pause between attempts. */
  retryMs?: number;
  /** Called with each failed attempt's message (for progress / boot logs). */
  onAttempt?(message: string): void;
}

export async function waitForSsh(
  port: number, privateKey: string | Buffer, timeoutMs: number, signal?: AbortSignal, o: WaitForSshOptions = {},
): Promise<SshShell> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt made';
  while (Date.now() < deadline) {
    if (signal?.aborted) throw new UnderstudyError('cancelled', `waiting for ssh on port ${port}: cancelled`);
    try {
      return await connectSsh({
        host: o.host ?? '127.0.0.1', port, username: o.username ?? 'root', privateKey,
        hostKeyPolicy: o.hostKeyPolicy ?? { kind: 'accept-any' }, signal,
        readyTimeoutMs: Math.max(1000, Math.min(o.attemptTimeoutMs ?? 10_000, deadline - Date.now())),
      });
    } catch (e) {
      // A host key or cancellation problem will not go away by retrying.
      if (isUnderstudyError(e) && ['cancelled', 'host-key-changed', 'host-key-unknown', 'usage'].includes(e.code)) throw e;
      last = (e as Error).message;
      o.onAttempt?.(last);
    }
    await sleep(Math.min(o.retryMs ?? 1000, Math.max(0, deadline - Date.now())), undefined, { signal }).catch(() => {});
  }
  throw new UnderstudyError('timeout', `sshd on 127.0.0.1:${port} did not answer within ${timeoutMs} ms (last: ${last})`,
    { port, last });
}
