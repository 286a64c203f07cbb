// After a swap that stops the host's sshd from serving new logins (Debian 12 -> 13 replaces OpenSSH 9
// with 10), the reboot must go through the connection held from before the swap (held-connection.ts).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { restartAfterSwap, type Connect } from '../../../main/app/stage-services/restart.ts';
import { lend } from '../../../main/app/stage-services/held-connection.ts';
import type { RemoteShell } from '../../../main/core/ports/remote-shell.port.ts';
import type { StageIo } from '../../../main/core/workflow/stage-services.ts';

const io: StageIo = { runId: 'r', signal: new AbortController().signal, progress: () => {}, log: () => {} };
const delta = { added: [], changed: ['boot/vmlinuz-6.12.0-1-amd64'], removed: [] };

function shell(name: string, seen: string[]): RemoteShell & { closed: boolean } {
  const s = {
    closed: false,
    async exec(cmd: string) { seen.push(`${name}: ${cmd}`); return { exitCode: 0 }; },
    async run(cmd: string) { seen.push(`${name}: ${cmd}`); return { exitCode: 0, stdout: 'running\n', stderr: '' }; },
    async close() { s.closed = true; },
  };
  return s;
}

it('the reboot goes through the held connection while new logins fail; the host is then waited for anew', async () => {
  const seen: string[] = [];
  const held = shell('held', seen);
  let rebooted = false;
  const connect: Connect = async () => {
    if (!rebooted) throw new Error('Connection lost before handshake');
    return shell('new', seen);
  };
  // new logins work again once the reboot was asked for (the new sshd runs after it)
  const heldExec = held.exec.bind(held);
  held.exec = async (cmd, o) => { const r = await heldExec(cmd, o); if (/systemctl reboot/.test(cmd)) rebooted = true; return r; };
  const r = await restartAfterSwap('ssh://root@web1:22', 'auto', delta, io, connect, held);
  assert.deepEqual(r, { restarted: [], rebooted: true });
  assert.equal(seen[0], 'held: systemctl daemon-reload');
  assert.match(seen[1]!, /^held: .*systemctl reboot/);
  assert.ok(seen.some((l) => l.startsWith('new: systemctl is-system-running')), seen.join('\n'));
  assert.equal(held.closed, false, 'the caller owns the held connection');
});

it('without a held connection the same host cannot be restarted: the stage fails', async () => {
  const connect: Connect = async () => { throw new Error('Connection lost before handshake'); };
  await assert.rejects(restartAfterSwap('ssh://root@web1:22', 'auto', delta, io, connect), /Connection lost before handshake/);
});

it('a held connection lent to a host seam runs its commands and outlives the seam\'s close', async () => {
  const seen: string[] = [];
  const held = shell('held', seen);
  const lent = lend(held);
  await lent.run('uname -r');
  await lent.exec('true');
  await lent.close();
  assert.deepEqual(seen, ['held: uname -r', 'held: true']);
  assert.equal(held.closed, false, 'the rollback after a failed restart still has it');
  assert.equal('execStream' in lent, false, 'streams only where the held shell streams');
});
