// ssh:// capture against the demo host VM under real QEMU: GNU tar over one ssh2 exec channel, parsed as
// it streams. Checked against the host's own view (find, stat, sha256sum over SSH), then restored
// locally and compared again. One boot for the file.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QemuVm } from '../../main/adapters/qemu/qemu-hypervisor.ts';
import { bootDemoHost, type DemoHostVm } from '../../main/adapters/qemu/demo-host-vm.ts';
import type { SshShell } from '../../main/adapters/ssh/ssh-shell.ts';
import type { Manifest } from '../../main/core/domain/manifest.ts';
import { bytesFromKey, keyFromBytes } from '../../main/core/domain/path-key.ts';
import { restoreMap } from '../../main/adapters/restore/restore-map.ts';
import { verifyStore } from '../../main/adapters/store/verify-store.ts';
import { capture } from '../../main/adapters/capture/capture.ts';
import { connectSsh } from '../../main/adapters/ssh/ssh-shell.ts';
import { generateSshKeyPair } from '../../main/adapters/ssh/ssh-keypair.ts';

describe('ssh:// capture of the demo host', { timeout: 15 * 60_000 }, () => {
  let work: string, store: string, keyPath: string;
  let vm: QemuVm;
  let host: DemoHostVm | undefined;
  let sh: SshShell;
  let manifest: Manifest;
  let result: any;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'understudy-capture-ssh-test-'));
    store = join(work, 'store');
    host = await bootDemoHost({ name: 'capture-ssh-test', workDir: work });
    keyPath = host.image.privateKeyPath;
    sh = host.sh;
    vm = host.vm;
    // a few hostile cases on a real host: newline and invalid UTF-8 names, setuid, a 1 TB sparse file
    const prep = await sh.run(`set -e; mkdir -p /srv/odd; printf x > "/srv/odd/new
line"; printf y > /srv/odd/$(printf 'bad\\377name'); printf z > /srv/odd/suid; chmod 4755 /srv/odd/suid;
      truncate -s 1T /srv/odd/sparse; printf data | dd of=/srv/odd/sparse bs=1 seek=1000000 conv=notrunc 2>/dev/null;
      ln /srv/odd/suid /srv/odd/suid-link; mkfifo /srv/odd/fifo; touch -d @1700000000.123456789 /srv/odd/suid`);
    assert.equal(prep.exitCode, 0, prep.stderr);
  });

  after(async () => {
    await host?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('captures over one exec channel, recording the new host key', async () => {
    const target = `ssh://root@127.0.0.1:${vm.sshPort}`;
    const knownHosts = join(store, 'known_hosts');
    const connect = (t: { user: string; host: string; port: number }) => connectSsh({
      host: t.host, port: t.port, username: t.user, privateKey: readFileSync(keyPath),
      hostKeyPolicy: { kind: 'known-hosts', path: knownHosts, acceptNew: true },
    });
    result = await capture({ store, target, connect });
    assert.ok(result.files > 1000 && result.bytesRead > 50e6, JSON.stringify(result));
    manifest = JSON.parse(readFileSync(join(store, 'maps', `${result.map}.json`), 'utf8'));
    assert.equal(manifest.target, target);
    assert.match(readFileSync(knownHosts, 'utf8'), /^\[127\.0\.0\.1\]:\d+ ssh-ed25519 /m);
    // bytes counts the 1 TB sparse file at its length: what crossed the wire is bytesRead
    console.log(`# ssh capture: ${result.files} files, ${(result.bytesRead / 1e6).toFixed(0)} MB read in ${result.seconds.toFixed(1)} s`);
    // unchanged re-capture over ssh reads no file content (the find listing decides)
    const again = await capture({ store, target, connect });
    console.log(`# ssh re-capture: ${again.bytesRead} bytes read in ${again.seconds.toFixed(1)} s`);
    // a live host: only what changed since (the systemd journal, ...) is read again
    assert.ok(again.bytesRead < result.bytesRead / 20, `re-capture read ${again.bytesRead} of ${result.bytesRead} bytes`);
  });

  it('holds every path the host has on its root filesystem, and nothing of /proc, /sys, /dev, /run, /tmp', async () => {
    const r = await sh.run(`find / -xdev \\( -path /tmp -o -path /run -o -path /proc -o -path /sys -o -path /dev \\) -prune -o ! -type s -printf '%P\\0'`);
    assert.equal(r.exitCode, 0, r.stderr);
    const hostPaths = new Set(r.stdout.split('\0').filter(Boolean).map((p) => keyFromBytes(Buffer.from(p, 'utf8'))));
    const mapPaths = new Set(manifest.entries.map((e) => e.path).filter((p) => p !== '' && !['tmp', 'run', 'proc', 'sys', 'dev'].includes(p)));
    // find's output went through a UTF-8 string: compare only names that survive that
    const comparable = (p: string) => !p.startsWith('b64:') && !p.includes('\uFFFD');
    assert.deepEqual([...mapPaths].filter(comparable).filter((p) => !hostPaths.has(p)), []);
    assert.deepEqual([...hostPaths].filter(comparable).filter((p) => !mapPaths.has(p)), []);
    for (const p of ['proc', 'sys', 'dev', 'run', 'tmp']) assert.ok(manifest.excluded.some((x) => x.path === p), `${p} listed as excluded`);
    assert.ok(!manifest.entries.some((e) => e.path.startsWith('proc/') || e.path.startsWith('sys/')));
  });

  it('records content hashes, modes, owners and ns mtimes exactly as the host reports them', async () => {
    const files = ['usr/lib/os-release', 'etc/passwd', 'srv/odd/suid', 'usr/bin/bash']; // no symlinks: sha256sum follows them
    const r = await sh.run(`cd / && sha256sum -- ${files.join(' ')} && stat -c '%n %a %u %g %.9Y' -- ${files.join(' ')}`);
    assert.equal(r.exitCode, 0, r.stderr);
    const byPath = new Map(manifest.entries.map((e) => [e.path, e]));
    for (const line of r.stdout.trim().split('\n')) {
      const sum = /^([0-9a-f]{64})  (.*)$/.exec(line);
      if (sum) {
        const e = byPath.get(sum[2]!)!;
        assert.equal(e.sha256 ?? byPath.get(e.linkTo!)?.sha256, sum[1], sum[2]);
        continue;
      }
      const [path, mode, uid, gid, mtime] = line.split(' ');
      const e = byPath.get(path!)!;
      assert.equal(e.mode.toString(8), mode, path);
      assert.deepEqual([e.uid, e.gid], [Number(uid), Number(gid)]);
      assert.equal(e.mtimeNs, mtime!.replace('.', ''), path);
    }
    const odd = [...byPath.values()].filter((e) => Buffer.from(bytesFromKey(e.path)).toString('latin1').startsWith('srv/odd/'));
    assert.ok(odd.some((e) => e.path === 'srv/odd/new\nline'));
    assert.ok(odd.some((e) => e.path.startsWith('b64:')), 'invalid UTF-8 name kept byte-exact');
    assert.equal(byPath.get('srv/odd/fifo')?.type, 'fifo');
    assert.equal(byPath.get('srv/odd/suid-link')?.type, 'hardlink');
    assert.deepEqual(byPath.get('srv/odd/sparse')?.sparse?.length, 1);
    assert.equal(byPath.get('srv/odd/sparse')?.size, 2 ** 40);
  });

  it('verifies, and restores locally to the same bytes and modes', async () => {
    assert.equal((await verifyStore(store, result.map)).ok, true);
    const dest = join(work, 'restored');
    await restoreMap(store, result.map, dest);
    const r = await sh.run('sha256sum /usr/bin/bash');
    const local = createHash('sha256').update(readFileSync(join(dest, 'usr/bin/bash'))).digest('hex');
    assert.equal(local, r.stdout.split(' ')[0]);
    assert.equal(lstatSync(join(dest, 'srv/odd/suid')).mode & 0o7777, 0o4755);
    const sparse = lstatSync(join(dest, 'srv/odd/sparse'));
    assert.equal(sparse.size, 2 ** 40);
    assert.ok(sparse.blocks * 512 < 1 << 20, 'restored sparse');
  });

  it('refuses an unknown host key (unless told to accept it) and a changed one, naming both fingerprints; nothing is stored', () => {
    const target = `ssh://root@127.0.0.1:${vm.sshPort}`;
    const other = mkdtempSync(join(work, 'refuse-'));
    const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/understudy.mjs', 'capture', target, '--identity', keyPath,
      '--store', other, '--json', ...args], { encoding: 'utf8' });
    const resultOf = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as { ok: boolean; error: { code: string; message: string } };

    const unknown = cli();
    assert.equal(unknown.status, 1, unknown.stderr);
    assert.equal(resultOf(unknown.stdout).error.code, 'host-key-unknown');
    assert.match(resultOf(unknown.stdout).error.message, /--accept-new-host-key/);
    const maps = existsSync(join(other, 'maps')) ? readdirSync(join(other, 'maps')).filter((f) => f.endsWith('.json')) : [];
    assert.deepEqual(maps, [], 'no map was stored');

    // the host's key "changed": known_hosts holds another ed25519 key for this [host]:port
    const impostor = generateSshKeyPair().public;
    writeFileSync(join(other, 'known_hosts'), `[127.0.0.1]:${vm.sshPort} ${impostor}\n`);
    const changed = cli('--accept-new-host-key');
    assert.equal(changed.status, 1, changed.stderr);
    const err = resultOf(changed.stdout).error;
    assert.equal(err.code, 'host-key-changed', 'a changed key is refused even with --accept-new-host-key');
    assert.equal((err.message.match(/SHA256:[A-Za-z0-9+/]{43}/g) ?? []).length, 2, `both fingerprints in: ${err.message}`);
    assert.equal(readFileSync(join(other, 'known_hosts'), 'utf8'), `[127.0.0.1]:${vm.sshPort} ${impostor}\n`, 'known_hosts untouched');
  });
});
