// The ssh adapter against a real SSH server (helpers/ssh-test-server.ts: ssh2's, in-process, running /bin/sh).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { connectSsh, type HostKeyPolicy } from '../../../main/adapters/ssh/ssh-shell.ts';
import { generateSshKeyPair } from '../../../main/adapters/ssh/ssh-keypair.ts';
import { sha256Fingerprint } from '../../../main/adapters/ssh/known-hosts.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';
import { startSshTestServer, type SshTestServer } from './helpers/ssh-test-server.ts';

const { utils } = ssh2;
const hostKey = generateSshKeyPair();
const otherHostKey = generateSshKeyPair();
const userKey = generateSshKeyPair();
const hostBlob = (utils.parseKey(hostKey.public) as ssh2.ParsedKey).getPublicSSH();
const otherBlob = (utils.parseKey(otherHostKey.public) as ssh2.ParsedKey).getPublicSSH();

describe('ssh adapter', () => {
  let server: SshTestServer;
  let port: number;
  let dir: string;
  const connect = (hostKeyPolicy: HostKeyPolicy = { kind: 'accept-any' }, privateKey: string | Buffer = userKey.private) =>
    connectSsh({ host: '127.0.0.1', port, username: 'root', privateKey, hostKeyPolicy, readyTimeoutMs: 5000 });

  before(async () => {
    server = await startSshTestServer(hostKey.private, userKey.public);
    port = server.port;
    dir = mkdtempSync(join(tmpdir(), 'understudy-ssh-test-'));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs commands, separates stdout and stderr and reports exit codes', async () => {
    const sh = await connect();
    try {
      const r = await sh.run('echo out; echo err >&2; exit 3');
      assert.deepEqual(r, { exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
      const input = await sh.run('tr a-z A-Z', { stdin: 'hello\n' });
      assert.equal(input.stdout, 'HELLO\n');
    } finally { await sh.close(); }
  });

  it('streams large output with back-pressure through execStream', async () => {
    const sh = await connect();
    try {
      const s = await sh.execStream('f=$(mktemp) && head -c 8000000 /dev/urandom >$f && cat $f && sha256sum $f >&2; rm -f $f');
      const hash = createHash('sha256');
      let size = 0;
      for await (const c of s.stdout) { hash.update(c as Buffer); size += (c as Buffer).length; }
      const done = await s.done;
      assert.equal(done.exitCode, 0);
      assert.equal(size, 8_000_000);
      assert.ok(done.stderrTail.includes(hash.digest('hex')), 'remote and local hashes agree');
    } finally { await sh.close(); }
  });

  it('stops a command at its timeout', async () => {
    const sh = await connect();
    try {
      await assert.rejects(sh.run('sleep 30', { timeoutMs: 300 }), (e) => isUnderstudyError(e) && e.code === 'timeout');
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 200);
      await assert.rejects(sh.run('sleep 30', { signal: ac.signal }), (e) => isUnderstudyError(e) && e.code === 'cancelled');
      assert.equal((await sh.run('echo still usable')).stdout, 'still usable\n');
    } finally { await sh.close(); }
  });

  it('refuses an unknown host key, records it only when told to', async () => {
    const path = join(dir, 'known_hosts_new');
    await assert.rejects(connect({ kind: 'known-hosts', path }), (e) => isUnderstudyError(e) && e.code === 'host-key-unknown'
      && e.message.includes(sha256Fingerprint(hostBlob)));
    await (await connect({ kind: 'known-hosts', path, acceptNew: true })).close();
    assert.equal(readFileSync(path, 'utf8'), `[127.0.0.1]:${port} ssh-ed25519 ${hostBlob.toString('base64')}\n`);
    await (await connect({ kind: 'known-hosts', path })).close();
  });

  it('refuses a changed host key, naming both fingerprints', async () => {
    const path = join(dir, 'known_hosts_changed');
    writeFileSync(path, `[127.0.0.1]:${port} ssh-ed25519 ${otherBlob.toString('base64')}\n`);
    await assert.rejects(connect({ kind: 'known-hosts', path, acceptNew: true }), (e) => {
      assert.ok(isUnderstudyError(e) && e.code === 'host-key-changed');
      assert.ok(e.message.includes(sha256Fingerprint(otherBlob)) && e.message.includes(sha256Fingerprint(hostBlob)));
      assert.equal(e.details?.expected, sha256Fingerprint(otherBlob));
      assert.equal(e.details?.got, sha256Fingerprint(hostBlob));
      return true;
    });
    assert.equal(readFileSync(path, 'utf8').split('\n').length, 2, 'nothing appended');
  });

  it('matches hashed known_hosts entries (ssh-keygen -H form)', async () => {
    const path = join(dir, 'known_hosts_hashed');
    const salt = randomBytes(20);
    const name = createHmac('sha1', salt).update(`[127.0.0.1]:${port}`).digest('base64');
    writeFileSync(path, `# comment\n|1|${salt.toString('base64')}|${name} ssh-ed25519 ${hostBlob.toString('base64')}\n`);
    await (await connect({ kind: 'known-hosts', path })).close();
    writeFileSync(path, `|1|${salt.toString('base64')}|${name} ssh-ed25519 ${otherBlob.toString('base64')}\n`);
    await assert.rejects(connect({ kind: 'known-hosts', path }), (e) => isUnderstudyError(e) && e.code === 'host-key-changed');
  });

  it('also trusts a read-only known_hosts (the operator\'s own), and refuses a key it contradicts', async () => {
    const mine = join(dir, 'known_hosts_mine'), theirs = join(dir, 'known_hosts_theirs');
    writeFileSync(theirs, `[127.0.0.1]:${port} ssh-ed25519 ${hostBlob.toString('base64')}\n`);
    await (await connect({ kind: 'known-hosts', path: mine, alsoTrusted: [theirs] })).close();
    assert.throws(() => readFileSync(mine), 'a key known elsewhere is not copied into our file');
    writeFileSync(theirs, `[127.0.0.1]:${port} ssh-ed25519 ${otherBlob.toString('base64')}\n`);
    await assert.rejects(connect({ kind: 'known-hosts', path: mine, acceptNew: true, alsoTrusted: [theirs] }),
      (e) => isUnderstudyError(e) && e.code === 'host-key-changed' && e.details?.knownHosts === theirs);
    assert.equal(readFileSync(theirs, 'utf8').split('\n').length, 2, 'the other file is never written');
  });

  it('reports a rejected key as a bad target', async () => {
    await assert.rejects(connect({ kind: 'accept-any' }, generateSshKeyPair().private),
      (e) => isUnderstudyError(e) && e.code === 'bad-target' && /authentication/.test(e.message));
  });
});
