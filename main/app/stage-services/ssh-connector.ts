// Opens SSH to an ssh:// target: key from --identity or ssh-agent; host keys checked against
// understudy's own known_hosts in the store (unknown refused unless acceptNewHostKey; changed always refused).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { RemoteShell } from '../../core/ports/remote-shell.port.ts';
import { connectSsh } from '../../adapters/ssh/index.ts';

export interface SshChoice { identity?: string; acceptNewHostKey?: boolean }

export function sshConnector(store: string, choice: SshChoice, signal?: AbortSignal) {
  return async (t: { user: string; host: string; port: number }): Promise<RemoteShell> => {
    const agent = process.env.SSH_AUTH_SOCK;
    if (!choice.identity && !agent) {
      throw new UnderstudyError('bad-target', `ssh://${t.user}@${t.host}:${t.port}: no SSH key: pass --identity FILE or run an ssh-agent`);
    }
    return connectSsh({
      host: t.host, port: t.port, username: t.user, signal,
      ...(choice.identity ? { privateKey: await readFile(choice.identity) } : { agent }),
      hostKeyPolicy: { kind: 'known-hosts', path: join(store, 'known_hosts'), acceptNew: Boolean(choice.acceptNewHostKey) },
    });
  };
}
