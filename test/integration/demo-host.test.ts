// Boots the demo host under real QEMU on a qcow2 overlay, logs in with ssh2, and upgrades hello-service
// from its repository by name (served from the local mirror by understudy's repository proxy on loopback,
// reached by the guest only through guestfwd). One boot for the file.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { QemuHypervisor, type QemuVm } from '../../main/adapters/qemu/qemu-hypervisor.ts';
import { demoHostImage } from '../../main/adapters/qemu/image-cache.ts';
import type { ForwardProxy } from '../../main/adapters/proxy/forward-proxy.ts';
import { bootDemoHost, type DemoHostVm } from '../../main/adapters/qemu/demo-host-vm.ts';
import type { SshShell } from '../../main/adapters/ssh/ssh-shell.ts';
import { isUnderstudyError } from '../../main/core/domain/errors.ts';

const processAlive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

describe('demo host under QEMU', { timeout: 15 * 60_000 }, () => {
  let work: string;
  let d: DemoHostVm;
  let proxy: ForwardProxy;
  let vm: QemuVm;
  let sh: SshShell;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'understudy-demo-host-test-'));
    d = await bootDemoHost({ name: 'demo-host-test', workDir: work, mirror: true });
    ({ vm, sh } = d);
    proxy = d.proxy!;
    console.log(`# boot to ssh: ${d.bootSeconds.toFixed(1)} s (${vm.accel}: ${vm.accelReason})`);
  });

  after(async () => {
    await d?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const curl = async (path: string) => {
    const r = await sh.run(`curl -s -o /dev/stdout -w ' %{http_code}' http://127.0.0.1:8080${path}`);
    assert.equal(r.exitCode, 0, r.stderr);
    return r.stdout.trim();
  };

  it('runs hello-service 1.0 and answers /health', async () => {
    assert.match(await curl('/version'), /^1\.0\s+200$/);
    assert.match(await curl('/health'), /^ok\s+200$/);
  });

  it('installs 2.0 from its repository, by name, through the proxy and guestfwd', async () => {
    const apt = `apt-get ${d.aptProxy}`;
    const r = await sh.run(`${apt} update -q && DEBIAN_FRONTEND=noninteractive ${apt} install -y -q hello-service=2.0`, { timeoutMs: 5 * 60_000 });
    assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
    const repo = proxy.report().hosts.find((h) => h.host === 'demo-repo.understudy.invalid');
    assert.ok(repo && repo.requests >= 2 && repo.bytes > 1000, `the guest fetched its repository through understudy's proxy: ${JSON.stringify(proxy.report())}`);
    assert.match(await curl('/version'), /^2\.0\s+200$/);
    assert.match(await curl('/health'), /^ok\s+200$/);
  });

  it('3.0 installs cleanly but fails /health', async () => {
    const r = await sh.run(`DEBIAN_FRONTEND=noninteractive apt-get ${d.aptProxy} install -y -q hello-service=3.0`, { timeoutMs: 5 * 60_000 });
    assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(await curl('/version'), /^3\.0\s+200$/);
    assert.match(await curl('/health'), /^unhealthy\s+500$/);
  });

  it('reaches nothing but the proxy, and the proxy nothing but the repository', async () => {
    // restrict=on: QEMU's own gateway services and the outside world are dropped.
    const r = await sh.run('curl -s -m 5 -o /dev/null http://10.0.2.2:80/ ; echo "rc=$?"');
    assert.match(r.stdout, /rc=(7|28)/);
    const p = await sh.run('curl -s -m 10 -o /dev/null -w "%{http_code}" -x http://10.0.2.100:3128/ http://example.org/');
    assert.equal(p.stdout, '403');
    assert.equal(proxy.report().refusals[0]?.host, 'example.org');
  });

  it('leaves no process, socket or temp dir after dispose', async () => {
    const pid = vm.pid!;
    const vmDir = dirname(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').find((a) => a.endsWith('qemu.pid'))!);
    await sh.close();
    assert.equal(await vm.shutdown(120_000), true, 'the guest powers off on ACPI shutdown');
    await vm.dispose();
    assert.equal(processAlive(pid), false);
    assert.equal(existsSync(vmDir), false, 'per-VM temp dir removed');
  });
});

describe('QemuHypervisor lifecycle', { timeout: 5 * 60_000 }, () => {
  // The demo kernel without a root fs panics and, with panic=-1 and no -no-reboot, reboots for ever:
  // a VM that keeps running without needing a disk image to boot.
  const spec = async (work: string) => {
    const host = await demoHostImage({ build: true });
    const scratch = join(work, 'scratch.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', scratch, '16M']);
    return {
      name: 'lifecycle', disks: [{ path: scratch, format: 'qcow2' as const }], kernel: host.kernel,
      cmdline: 'console=ttyS0 panic=-1 root=/dev/null', memoryMiB: 256, cpus: 1, forwardSsh: true,
      serialLog: join(work, 'serial.log'),
    };
  };
  const tempDirsOf = (pid: number) => dirname(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').find((a) => a.endsWith('qemu.pid'))!);

  it('starts, shows its console, and kill + dispose leave nothing behind', async () => {
    const work = mkdtempSync(join(tmpdir(), 'understudy-test-lifecycle-'));
    try {
      const vm = await new QemuHypervisor().start(await spec(work)) as QemuVm;
      const pid = vm.pid!;
      const dir = tempDirsOf(pid);
      assert.ok(existsSync(join(dir, 'qmp.sock')));
      for (let i = 0; i < 600 && !(await vm.serialTail(200)).includes('Linux version'); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(await vm.serialTail(200), /Linux version/);
      await vm.kill();
      await vm.exited;
      assert.equal(processAlive(pid), false);
      await vm.dispose();
      await vm.dispose();   // idempotent
      assert.equal(existsSync(dir), false);
    } finally { rmSync(work, { recursive: true, force: true }); }
  });

  it('reports a missing kernel and an aborted start with typed errors, leaving no temp dir', async () => {
    const work = mkdtempSync(join(tmpdir(), 'understudy-test-lifecycle-'));
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith('understudy-qemu-lifecycle-')).length;
    try {
      const s = await spec(work);
      await assert.rejects(new QemuHypervisor().start({ ...s, kernel: join(work, 'nope') }),
        (e) => isUnderstudyError(e) && e.code === 'hypervisor' && e.message.includes('nope'));
      const ac = new AbortController();
      ac.abort();
      await assert.rejects(new QemuHypervisor().start(s, ac.signal), (e) => isUnderstudyError(e) && e.code === 'cancelled');
      assert.equal(readdirSync(tmpdir()).filter((n) => n.startsWith('understudy-qemu-lifecycle-')).length, before);
    } finally { rmSync(work, { recursive: true, force: true }); }
  });
});
