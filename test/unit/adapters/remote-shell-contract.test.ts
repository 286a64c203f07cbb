// The RemoteShell contract (main/core/ports/remote-shell.port.ts), held by every implementation with the
// same assertions: the ssh adapter against a real SSH server (helpers/ssh-test-server.ts: ssh2's, in-process,
// running /bin/sh -c and reporting exits as sshd does) and LocalShell (the `local` target). There is no fake RemoteShell.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { connectSsh, type ExecStream } from '../../../main/adapters/ssh/ssh-shell.ts';
import { generateSshKeyPair } from '../../../main/adapters/ssh/ssh-keypair.ts';
import { LocalShell } from '../../../main/adapters/local/local-shell.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';
import type { RemoteShell } from '../../../main/core/ports/remote-shell.port.ts';
import { startSshTestServer, type SshTestServer } from './helpers/ssh-test-server.ts';

type Shell = RemoteShell & { execStream(cmd: string, o?: { stdin?: 'pipe'; signal?: AbortSignal; timeoutMs?: number }): Promise<ExecStream> };

const hostKey = generateSshKeyPair();
const userKey = generateSshKeyPair();

/** Running, not a zombie (an orphan waits for PID 1 to reap it, which takes its time in containers). */
const alive = (pid: number) => {
  try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
};
/** Waits (bounded) until a process is gone: a kill is delivered asynchronously. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 25));
  return !alive(pid);
}
const code = (c: string) => (e: unknown) => isUnderstudyError(e) && e.code === c;

let server: SshTestServer;
let port: number;
let dir: string;
before(async () => {
  server = await startSshTestServer(hostKey.private, userKey.public);
  port = server.port;
  dir = mkdtempSync(join(tmpdir(), 'understudy-shell-contract-'));
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const implementations: Array<[string, () => Promise<Shell>]> = [
  ['ssh adapter (SshShell)', () => connectSsh({ host: '127.0.0.1', port, username: 'root', privateKey: userKey.private, hostKeyPolicy: { kind: 'accept-any' }, readyTimeoutMs: 5000 })],
  ['LocalShell', async () => new LocalShell()],
];

for (const [name, open] of implementations) {
  describe(`RemoteShell contract: ${name}`, () => {
    let sh: Shell;
    let n = 0;
    const scratch = () => join(dir, `${name.replace(/\W+/g, '-')}-${n++}`);
    before(async () => { sh = await open(); });
    after(async () => { await sh.close(); });

    it('separates stdout and stderr, reports the exit code and never throws on a non-zero exit', async () => {
      assert.deepEqual(await sh.run('echo out; echo err >&2; exit 3'), { exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
      assert.deepEqual(await sh.run('true'), { exitCode: 0, stdout: '', stderr: '' });
    });

    it('feeds stdin then EOF; without stdin the command reads EOF at once', async () => {
      assert.equal((await sh.run('tr a-z A-Z', { stdin: 'hello\n' })).stdout, 'HELLO\n');
      assert.deepEqual(await sh.run('cat; echo "eof $?"'), { exitCode: 0, stdout: 'eof 0\n', stderr: '' });
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const out: Buffer[] = [];
      const r = await sh.exec('cat', { stdin: bytes, onStdout: (c) => out.push(Buffer.from(c)) });
      assert.equal(r.exitCode, 0);
      assert.deepEqual(Buffer.concat(out), bytes, 'binary-safe both ways');
    });

    it('run() collects small outputs only: past 64 MiB it stops the command with a remote-command error', async () => {
      await assert.rejects(sh.run('head -c 67108865 /dev/zero; echo never >&2'), (e) => code('remote-command')(e) && /exceeds/.test((e as Error).message));
      assert.equal((await sh.run('echo fine')).stdout, 'fine\n');
    });

    it('streams output while the command runs', async () => {
      // the command waits for a file the test creates only once it has seen the first line: without
      // streaming it would wait until the timeout
      const flag = scratch();
      const seen: string[] = [];
      const r = await sh.exec(`echo first; while [ ! -e ${flag} ]; do sleep 0.02; done; echo second >&2`, {
        timeoutMs: 20_000,
        onStdout: (c) => { seen.push(`out:${Buffer.from(c).toString()}`); writeFileSync(flag, ''); },
        onStderr: (c) => { seen.push(`err:${Buffer.from(c).toString()}`); },
      });
      assert.equal(r.exitCode, 0);
      assert.deepEqual(seen, ['out:first\n', 'err:second\n']);
    });

    it('reports a command killed by a signal', async () => {
      assert.deepEqual(await sh.exec('kill -9 $$'), { exitCode: null, signal: 'SIGKILL' });
    });

    it('stops a command at its timeout (UnderstudyError timeout) and stays usable', async () => {
      const pidFile = scratch();
      await assert.rejects(sh.run(`echo $$ > ${pidFile}; sleep 30`, { timeoutMs: 300 }), code('timeout'));
      assert.ok(await gone(Number(readFileSync(pidFile, 'utf8'))), 'the command no longer runs');
      assert.equal((await sh.run('echo still usable')).stdout, 'still usable\n');
    });

    it('cancels through an AbortSignal (UnderstudyError cancelled); an aborted signal runs nothing', async () => {
      const pidFile = scratch();
      const ac = new AbortController();
      const p = sh.exec(`echo $$ > ${pidFile}; echo started; sleep 30`, { signal: ac.signal, onStdout: () => ac.abort() });
      await assert.rejects(p, code('cancelled'));
      assert.ok(await gone(Number(readFileSync(pidFile, 'utf8'))), 'the command no longer runs');
      const marker = scratch();
      await assert.rejects(sh.run(`touch ${marker}`, { signal: AbortSignal.abort() }), code('cancelled'));
      assert.equal(existsSync(marker), false, 'nothing ran');
    });

    it('a command still starting when the shell closes is stopped too', async () => {
      const other = await open();
      const marker = scratch();
      const starting = other.run(`sleep 2; touch ${marker}`);
      await other.close(); // before the command has even started
      await assert.rejects(starting, code('remote-command'));
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(existsSync(marker), false, 'the command did not run on');
    });

    it('cancels a command aborted while it is still starting', async () => {
      const early = new AbortController();
      const starting = sh.run('sleep 30', { signal: early.signal, timeoutMs: 3000 });
      early.abort();
      await assert.rejects(starting, code('cancelled'));
    });

    it('execStream: stdout with back-pressure, stdin as a pipe, stderr drained even when nobody reads it', { timeout: 120_000 }, async () => {
      const data = randomBytes(6_000_000);
      const want = createHash('sha256').update(data).digest('hex');
      // in: the pipe takes more than any buffer holds, so pipeline() has to wait on the consumer
      const up = await sh.execStream('sha256sum', { stdin: 'pipe' });
      let printed = '';
      up.stdout.on('data', (c: Buffer) => { printed += c.toString(); });
      await pipeline(Readable.from([data.subarray(0, 3_000_000), data.subarray(3_000_000)]), up.stdin!);
      assert.equal((await up.done).exitCode, 0);
      assert.equal(printed.slice(0, 64), want);
      // out: read slowly, chunk by chunk
      const file = scratch();
      await sh.exec(`cat > ${file}`, { stdin: data });
      const down = await sh.execStream(`cat ${file}; head -c 100000 /dev/zero | tr '\\0' e >&2; echo tail-of-stderr >&2`);
      const hash = createHash('sha256');
      let size = 0;
      for await (const c of down.stdout) { hash.update(c as Buffer); size += (c as Buffer).length; await new Promise(setImmediate); }
      const done = await down.done;
      assert.equal(done.exitCode, 0);
      assert.equal(size, data.length);
      assert.equal(hash.digest('hex'), want);
      assert.ok(done.stderrTail.endsWith('eeeetail-of-stderr\n') && done.stderrTail.length <= 16 * 1024, 'stderr tail, bounded');
    });
  });
}

describe('LocalShell only', () => {
  let n = 0;
  it('kills the whole process group on timeout, cancel and close, and refuses commands once closed', async () => {
    const sh = new LocalShell();
    // a pid file per case: a stopped command's result comes when its shell has exited, and a straggler
    // of its group (say an `mv` in the middle of its rename when SIGKILL came) may still finish after that
    let pidFile = '';
    const bg = async (start: (cmd: string) => Promise<unknown>) => {
      pidFile = join(dir, `group-pids-${n++}`);
      await assert.rejects(start(`sleep 60 & echo $! > ${pidFile}.tmp; mv ${pidFile}.tmp ${pidFile}; wait`));
      return Number(readFileSync(pidFile, 'utf8'));
    };
    assert.ok(await gone(await bg((c) => sh.run(c, { timeoutMs: 300 }))), 'timeout: background child killed');
    const ac = new AbortController();
    const cancelled = bg((c) => sh.run(c, { signal: ac.signal }));
    while (!existsSync(pidFile)) await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    assert.ok(await gone(await cancelled), 'cancel: background child killed');
    const closed = bg((c) => sh.run(c));
    while (!existsSync(pidFile)) await new Promise((r) => setTimeout(r, 10));
    await sh.close();
    assert.ok(await gone(await closed), 'close: background child killed');
    await assert.rejects(sh.run('true'), code('remote-command'));
  });

});
