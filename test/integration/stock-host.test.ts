// A stock Debian 12 host (vm-images/stock-host: the real archive in its sources as the installer writes
// them, the security archive over https, nothing of understudy's) upgraded from its own repositories, over
// the real network, through understudy's repository proxy. One host VM boot for the file:
//   1. rehearse: apt-get install from the real archive, then curl to a loopback server the operator named
//      (--allow-host: reached), to another loopback port (not named: refused) and to a host that is in no
//      source (refused): the run fails on that last refusal, and the result shows all of it. Host untouched.
//   2. upgrade: the same install (nginx-light from the security archive over https = CONNECT; tree from the
//      archive over http, now from the download cache). Enabling nginx changes what boots, so the sandbox
//      is rebooted first (the reboot rehearsal, auto): the host's own kernel, a running system, no failed
//      unit, the check passing again. Then on the host: nginx serving, dpkg clean, /etc/apt byte-identical,
//      and the package set equal to a direct apt-get install in a chroot of map1's restore; so are /etc and
//      the package state (dpkg's database, deb-systemd-helper's record of the units nginx enabled), file by
//      file (issue 19: nothing the upgrade did is dropped).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootStockHost, type HostVm } from '../../main/adapters/qemu/demo-host-vm.ts';
import type { StockHostImage } from '../../main/adapters/qemu/image-cache.ts';
import { cliJson } from './helpers/cli-json.ts';

const PACKAGES = 'nginx-light tree';
const INSTALL = `apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ${PACKAGES}`;
// What the upgrade's package state and configuration are, file by file (type, mode, owner, link, content):
// /etc but resolv.conf (the chroot gets this machine's to reach the archive), dpkg's database but its
// backups and locks, and deb-systemd-helper's record of enabled units.
const PACKAGE_STATE = "cd / && find etc var/lib/dpkg var/lib/systemd/deb-systemd-helper-enabled "
  + "\\( -path etc/resolv.conf -o -name '*-old' -o -name lock -o -name 'lock-*' -o -path var/lib/dpkg/triggers/Lock \\) -prune "
  + "-o -printf '%p %y %m %U %G %l\\n' | sort; "
  + "find etc var/lib/dpkg var/lib/systemd/deb-systemd-helper-enabled \\( -path etc/resolv.conf -o -name '*-old' -o -name lock -o -name 'lock-*' "
  + "-o -path var/lib/dpkg/triggers/Lock \\) -prune -o -type f -print0 | sort -z | xargs -0 sha256sum";
const ETC_APT = "find /etc/apt -printf '%p %y %m %U %G %l\\n' | sort; find /etc/apt -type f -print0 | sort -z | xargs -0 sha256sum";

interface Counted { server: Server; port: number; hits: string[] }
async function loopbackServer(addr: string, body: string): Promise<Counted> {
  const hits: string[] = [];
  const server = createServer((req, res) => { hits.push(req.url ?? ''); res.end(body); });
  const port = await new Promise<number>((r) => server.listen(0, addr, () => r((server.address() as { port: number }).port)));
  return { server, port, hits };
}

describe('a stock Debian host upgraded from its own real repositories', { timeout: 40 * 60_000 }, () => {
  let work = '';
  let host: HostVm<StockHostImage> | undefined;
  let named: Counted, unnamed: Counted;
  let store = '', archive = '', etcAptBefore = '';
  const cli = (args: string[]) => cliJson([...args, '--store', store, '--identity', host!.image.privateKeyPath, '--accept-new-host-key'],
    { TMPDIR: join(work, 'tmp') });
  const onHost = async (cmd: string) => {
    const r = await host!.sh.run(cmd, { timeoutMs: 120_000 });
    return { ...r, out: r.stdout.trim() };
  };

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'understudy-stock-host-'));
    mkdirSync(join(work, 'tmp'));
    store = join(work, 'store');
    host = await bootStockHost({ name: 'stock-host-test', workDir: work });
    console.log(`# stock host up in ${host.bootSeconds.toFixed(1)} s (${host.vm.accel})`);
    // the archive's name as the host's own sources have it (never written into the repository)
    archive = (await onHost("awk '$1==\"deb\" {split($2,a,\"/\"); print a[3]; exit}' /etc/apt/sources.list")).out;
    assert.ok(archive, 'the stock host names an archive');
    etcAptBefore = (await onHost(ETC_APT)).out;
    named = await loopbackServer('127.0.0.2', 'named-ok');
    unnamed = await loopbackServer('127.0.0.2', 'must-not-be-reached');
  });

  after(async () => {
    named?.server.close();
    unnamed?.server.close();
    await host?.dispose();
    if (work) {
      for (const m of ['proc', 'sys', 'dev'].map((d) => join(work, 'chroot', d))) { try { execFileSync('umount', ['-l', m], { stdio: 'ignore' }); } catch { /* not mounted */ } }
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('rehearse: installs from the real archive; --allow-host reaches a named loopback server, the rest is refused and shown', async () => {
    const run = `${INSTALL} && curl -fsS http://127.0.0.2:${named.port}/ok && { curl -fsS http://127.0.0.2:${unnamed.port}/x || true; } `
      + '&& curl -fsS http://example.org/first-path';
    const r = await cli(['rehearse', host!.target, '--allow-host', `127.0.0.2:${named.port}`, '--run', run]);
    assert.equal(r.code, 1, r.stderr);
    const res = r.result;
    console.log(`# rehearsal timings ${JSON.stringify(res.timings)}`);
    assert.equal(res.error?.stage, 'upgrading', JSON.stringify(res.error));
    const net = res.network;
    assert.ok(net, `the failed run carries its network report: ${JSON.stringify(res).slice(0, 2000)}`);
    const host80 = net.hosts.find((h: any) => h.host === archive && h.port === 80);
    const host443 = net.hosts.find((h: any) => h.host === archive && h.port === 443);
    assert.ok(host80?.requests > 0 && host80.bytes > 1e6, `indexes and tree over http: ${JSON.stringify(net.hosts)}`);
    assert.ok(host443?.tunnels > 0 && host443.bytes > 100e3, `the security archive over https (CONNECT): ${JSON.stringify(net.hosts)}`);
    const loop = net.hosts.find((h: any) => h.host === '127.0.0.2' && h.port === named.port);
    assert.equal(loop?.requests, 1);
    assert.deepEqual(named.hits, ['/ok']);
    assert.deepEqual(unnamed.hits, [], 'an unnamed loopback port is never reached');
    const refusedLoop = net.refusals.find((x: any) => x.host === '127.0.0.2' && x.port === unnamed.port);
    // named is per host:port: another port of the same loopback address stays refused
    assert.match(refusedLoop?.reason ?? '', new RegExp(`not a repository of the host's apt sources \\(allow it with --allow-host 127\\.0\\.0\\.2:${unnamed.port}\\)`));
    const refusedHost = net.refusals.find((x: any) => x.host === 'example.org');
    assert.equal(refusedHost?.path, '/first-path');
    assert.match(refusedHost?.reason ?? '', /not a repository of the host's apt sources/);
    assert.deepEqual(net.failures, []);
    assert.equal((await onHost('dpkg-query -W nginx-light 2>&1; true')).out.includes('no packages found'), true, 'host untouched');
    assert.equal((await onHost(ETC_APT)).out, etcAptBefore);
  });

  it('upgrade: nginx-light (https) and tree (http, from the download cache) on the host, exactly as apt would', async () => {
    const r = await cli(['upgrade', host!.target, '--run', INSTALL, '--check', 'curl -fsS http://127.0.0.1/ | grep -qi nginx',
      '--health', 'systemctl is-active nginx', '--health', 'curl -fsS http://127.0.0.1/ >/dev/null', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    const res = r.result;
    assert.equal(res.outcome, 'upgraded');
    const installed = res.packages.installed.map((p: any) => p.name);
    for (const p of ['nginx-light', 'nginx-common', 'tree']) assert.ok(installed.includes(p), `${p} in ${installed}`);
    const host80 = res.network.hosts.find((h: any) => h.host === archive && h.port === 80);
    assert.ok(host80.cachedRequests >= 1, `tree's .deb came from the download cache: ${JSON.stringify(host80)}`);
    console.log(`# upstream http bytes ${host80.bytes - host80.cachedBytes} (${host80.cachedBytes} from the cache); timings ${JSON.stringify(res.timings)}`);
    assert.ok(res.timings.releasing < 20, `the sandbox is stopped at once after its last stage (releasing ${res.timings.releasing} s)`);

    // the reboot rehearsal: nginx's enablement link is a change to what boots; the sandbox booted the kernel
    // the host boots next (its newest in /boot: no GRUB here), the same one the host runs now
    const { consoleTail: _tail, ...rb } = res.reboot;
    console.log(`# reboot ${JSON.stringify(rb)}`);
    assert.equal(rb.rehearsed, true, JSON.stringify(rb));
    assert.equal(rb.ok, true, JSON.stringify(rb));
    assert.match(rb.reason, /^what boots changed: .*unit enablement \(/);
    assert.match(rb.kernel.chosenBy, /newest kernel in \/boot/);
    assert.equal(rb.running, (await onHost('uname -r')).out);
    assert.ok(['running', 'degraded'].includes(rb.systemState), rb.systemState);
    assert.deepEqual(rb.failedUnits, []);
    assert.deepEqual(rb.checks.map((c: any) => c.ok), [true], 'the check passed again after the reboot');
    assert.ok(rb.bootSeconds > 0 && res.timings.rebooting >= rb.bootSeconds, JSON.stringify(res.timings));

    // the host afterwards
    assert.match((await onHost('systemctl is-active nginx')).out, /^active$/);
    assert.match((await onHost('curl -fsS http://127.0.0.1/')).out, /nginx/i);
    assert.equal((await onHost('dpkg --audit')).out, '');
    const verify = (await onHost('dpkg -V; true')).out;
    for (const line of verify.split('\n').filter(Boolean)) assert.match(line, /^\S+ c \//, `dpkg -V shows only conffiles: ${line}`);
    assert.equal((await onHost(ETC_APT)).out, etcAptBefore, '/etc/apt is byte-identical');
    const hostPackages = (await onHost("dpkg-query -W -f='${Package} ${Version} ${Status}\\n'")).out.split('\n').sort().join('\n');
    const hostState = (await onHost(PACKAGE_STATE)).out;
    assert.match(hostState, /^var\/lib\/systemd\/deb-systemd-helper-enabled\/nginx\.service\.dsh-also f /m, 'deb-systemd-helper\'s record reached the host');

    // the same install, straight from the archive, in a chroot of map1's restore
    const root = join(work, 'chroot');
    const restored = await cliJson(['restore', res.map1, root, '--store', store]);
    assert.equal(restored.code, 0, restored.stderr);
    cpSync('/etc/resolv.conf', join(root, 'etc/resolv.conf'));
    writeFileSync(join(root, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    execFileSync('mount', ['-t', 'proc', 'proc', join(root, 'proc')]);
    execFileSync('mount', ['-t', 'sysfs', 'sysfs', join(root, 'sys')]);
    execFileSync('mount', ['--bind', '/dev', join(root, 'dev')]);
    try {
      execFileSync('chroot', [root, 'sh', '-c', INSTALL], { stdio: 'pipe', timeout: 10 * 60_000, env: { ...process.env, LC_ALL: 'C' } });
      const direct = execFileSync('chroot', [root, 'dpkg-query', '-W', '-f=${Package} ${Version} ${Status}\\n'], { encoding: 'utf8' })
        .trim().split('\n').sort().join('\n');
      assert.equal(hostPackages, direct, 'the host has exactly the packages a direct apt-get install gives');
      const directState = execFileSync('chroot', [root, 'sh', '-c', PACKAGE_STATE], { encoding: 'utf8', maxBuffer: 64 << 20 }).trim();
      const h = new Set(hostState.split('\n')), d = new Set(directState.split('\n'));
      const differ = [...new Set([...h].filter((l) => !d.has(l)).concat([...d].filter((l) => !h.has(l))))].sort();
      assert.deepEqual(differ, [], '/etc and the package state equal a direct apt-get install, file by file');
    } finally {
      for (const d of ['dev', 'sys', 'proc']) execFileSync('umount', ['-l', join(root, d)]);
    }
  });
});
