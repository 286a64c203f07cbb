// `understudy rehearse ssh://...` against the demo host VM running, with the libvirt adapter for the
// sandbox (the dir: rehearsals and the demo story cover qemu): the host is captured over SSH, cloned into a
// libvirt sandbox, upgraded 1.0 -> 2.0 from the mirror; a failing check ends with exit 4 and the report,
// and the host is exactly as before — read-only access only, nothing of understudy's left on it — and no
// domain, QEMU process or temp dir is left here.
// Then `understudy upgrade ssh://...` of that host, now at 2.0, to 3.0 (which installs cleanly but whose
// service fails /health): the sandbox checks the operator chose pass, the delta is swapped, the host's
// health check fails, and the swap is rolled back by itself: exit 6, the host serves 2.0 again with
// 2.0's files. Same VM, same store (the second capture is incremental).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootDemoHost, type DemoHostVm } from '../../main/adapters/qemu/demo-host-vm.ts';
import { mirrorImage } from '../../main/adapters/qemu/image-cache.ts';
import { DEFAULT_LIBVIRT_URI } from '../../main/adapters/libvirt/index.ts';
import { libvirtDomainsMentioning, qemuProcessesMentioning } from '../../main/adapters/sandbox/leak-check.ts';
import { cliJson } from './helpers/cli-json.ts';

const INSTALL_2 = 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q hello-service=2.0';
const HEALTH = 'curl -fsS http://127.0.0.1:8080/health';
const BAD = 'curl -fsS http://127.0.0.1:8080/version | grep -qx 9.9';
const INSTALL_3 = 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q hello-service=3.0';
const INSTALLED = 'test -x /usr/lib/hello-service/handler';
// what an upgrade would change on the host, and understudy's own traces: all must stay as they were
const HOST_PACKAGE = 'sha256sum /var/lib/dpkg/status /usr/lib/hello-service/handler 2>&1; dpkg-query -W hello-service; '
  + 'curl -fsS http://127.0.0.1:8080/version; ';
const HOST_STATE = HOST_PACKAGE + 'ls -d /var/lib/understudy /etc/systemd/system/understudy* 2>&1; true';
// after a swap understudy's work area stays (a rollback can be rolled back); its boot unit must be gone
const HOST_AFTER_SWAP = HOST_PACKAGE + 'ls -d /etc/systemd/system/understudy* 2>&1; true';

describe('understudy rehearse of an ssh:// host, sandbox under libvirt', { timeout: 30 * 60_000 }, () => {
  let work = '';
  let host: DemoHostVm | undefined;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'understudy-ssh-rehearsal-'));
    host = await bootDemoHost({ name: 'ssh-rehearsal-host', workDir: work, mirror: true });
  });

  after(async () => {
    await host?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('captures over SSH, rehearses 1.0 -> 2.0 in a libvirt sandbox, a failing check exits 4; the host is untouched', async () => {
    const h = host!;
    const privateTmp = join(work, 'tmp');
    const store = join(work, 'store');
    mkdirSync(privateTmp);
    const before = (await h.sh.run(HOST_STATE)).stdout;
    assert.match(before, /hello-service\t1\.0/);

    const r = await cliJson(['rehearse', h.target, '--store', store, '--identity', h.image.privateKeyPath, '--accept-new-host-key',
      '--mirror', (await mirrorImage()).dir, '--run', INSTALL_2, '--check', HEALTH, '--check', BAD,
      '--hypervisor', 'libvirt', '--libvirt-uri', DEFAULT_LIBVIRT_URI], { TMPDIR: privateTmp });

    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.result.ok, false);
    assert.equal(r.result.error.code, 'check-failed');
    assert.equal(r.result.hypervisor, 'libvirt');
    assert.deepEqual(r.result.checks, [{ cmd: HEALTH, ok: true, exitCode: 0 }, { cmd: BAD, ok: false, exitCode: 1 }]);
    assert.deepEqual(r.result.packages.upgraded, [{ name: 'hello-service', from: '1.0', to: '2.0' }]);
    assert.equal(r.result.kind, 'rehearse');
    assert.match(r.result.map1, /^[0-9a-f]{64}$/, 'the host was captured over SSH');
    assert.equal(r.result.map2, undefined, 'a failed rehearsal stops before the second capture');

    assert.equal((await h.sh.run(HOST_STATE)).stdout, before, 'the host is exactly as before the rehearsal');
    assert.deepEqual(qemuProcessesMentioning(privateTmp), [], 'no sandbox QEMU process left');
    assert.deepEqual(await libvirtDomainsMentioning(DEFAULT_LIBVIRT_URI, privateTmp), [], 'no libvirt domain left');
    assert.deepEqual(readdirSync(privateTmp).filter((n) => n.startsWith('understudy-')), [], 'no sandbox temp dir or overlay left');
  });

  it('upgrades 2.0 -> 3.0 over SSH: sandbox checks pass, host health fails, automatic rollback to 2.0 (exit 6)', async () => {
    const h = host!;
    const privateTmp = join(work, 'tmp-upgrade');
    const store = join(work, 'store');
    mkdirSync(privateTmp);
    // the host VM reaches its repository only through the demo proxy, as a host behind a proxy would
    const installed = await h.sh.run(INSTALL_2.replaceAll('apt-get ', `apt-get ${h.aptProxy} `), { timeoutMs: 5 * 60_000 });
    assert.equal(installed.exitCode, 0, installed.stderr);
    const at2 = (await h.sh.run(HOST_AFTER_SWAP)).stdout;
    assert.match(at2, /hello-service\t2\.0/);
    assert.match(at2, /^2\.0$/m, 'the host serves 2.0');

    const r = await cliJson(['upgrade', h.target, '--store', store, '--identity', h.image.privateKeyPath, '--accept-new-host-key',
      '--mirror', (await mirrorImage()).dir, '--run', INSTALL_3, '--check', INSTALLED, '--health', HEALTH, '--yes',
      '--hypervisor', 'libvirt', '--libvirt-uri', DEFAULT_LIBVIRT_URI], { TMPDIR: privateTmp });

    assert.equal(r.code, 6, r.stderr);
    assert.equal(r.result.outcome, 'rolled-back', JSON.stringify(r.result));
    assert.deepEqual(r.result.checks, [{ cmd: INSTALLED, ok: true, exitCode: 0 }], 'the sandbox passed what the operator checked');
    assert.deepEqual(r.result.packages.upgraded, [{ name: 'hello-service', from: '2.0', to: '3.0' }]);
    assert.ok(r.result.swap?.files > 0, 'the delta was swapped onto the host');
    assert.deepEqual(r.result.health.map((x: { cmd: string; ok: boolean }) => [x.cmd, x.ok]), [[HEALTH, false]]);
    const after = (await h.sh.run(HOST_AFTER_SWAP)).stdout;
    assert.equal(after, at2, 'after the automatic rollback the host has 2.0 again: files, package database, service');
    assert.deepEqual(qemuProcessesMentioning(privateTmp), [], 'no sandbox QEMU process left');
    assert.deepEqual(await libvirtDomainsMentioning(DEFAULT_LIBVIRT_URI, privateTmp), [], 'no libvirt domain left');
  });
});
