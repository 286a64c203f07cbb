// One contract for the Hypervisor port, run against both adapters (qemu and libvirt) with a tiny busybox
// guest (main/adapters/sandbox/tiny-guest.ts) on Debian's cloud kernel: serial output appears, the
// virtio disk is attached, a guestfwd program answers the guest, hostfwd reaches the guest's port 22,
// ACPI shutdown / kill / dispose leave no QEMU process or libvirt domain (counted before and after).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hypervisor, VmHandle, VmSpec } from '../../main/core/ports/hypervisor.port.ts';
import { isUnderstudyError } from '../../main/core/domain/errors.ts';
import { QemuHypervisor } from '../../main/adapters/qemu/qemu-hypervisor.ts';
import { LibvirtHypervisor, listDomains, DEFAULT_LIBVIRT_URI } from '../../main/adapters/libvirt/index.ts';
import { qemuProcessesMentioning } from '../../main/adapters/sandbox/leak-check.ts';
import { cloudKernelTree, tinyGuestFromTree, type TinyGuest } from '../../main/adapters/sandbox/tiny-guest.ts';

const BOOT_TIMEOUT_MS = 4 * 60_000;

async function waitForSerial(vm: VmHandle, re: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const tail = await vm.serialTail(200);
    const m = tail.match(re);
    if (m) return m[0];
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`serial console never matched ${re}; last lines:\n${await vm.serialTail(40)}`);
}

function readBanner(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let data = '';
    s.setTimeout(20_000, () => { s.destroy(); reject(new Error('hostfwd: no banner within 20 s')); });
    s.on('data', (c) => { data += c.toString(); if (data.includes('\n')) { s.end(); resolve(data.trim()); } });
    s.on('error', reject);
    s.on('close', () => resolve(data.trim()));
  });
}

function hypervisorContract(name: string, make: () => Hypervisor, countDomains: () => Promise<number>): void {
  describe(`Hypervisor contract: ${name}`, { timeout: 15 * 60_000 }, () => {
    let guest: TinyGuest;
    let work: string;
    let spec: (tag: string) => VmSpec;
    const nonce = randomBytes(4).toString('hex');

    before(async () => {
      guest = await tinyGuestFromTree(await cloudKernelTree());
      work = mkdtempSync(join(tmpdir(), `understudy-hv-contract-${name}-`));
      spec = (tag) => {
        const disk = join(work, `${tag}.qcow2`);
        execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '16M']);
        return {
          name: `contract-${tag}`, disks: [{ path: disk, format: 'qcow2' }], kernel: guest.kernel, initrd: guest.initrd,
          cmdline: guest.cmdline, memoryMiB: 256, cpus: 1, forwardSsh: true, serialLog: join(work, `${tag}.serial.log`),
          guestForwards: [{ guestAddr: '10.0.2.100', guestPort: 80, command: `sh -c 'read l; echo pong-$l-${nonce}'` }],
        };
      };
    });

    after(() => { if (work) rmSync(work, { recursive: true, force: true }); });

    it('boots: serial console, virtio disk, guestfwd and hostfwd work; ACPI shutdown leaves nothing', async () => {
      const domainsBefore = await countDomains();
      const vm = await make().start(spec('boot'));
      try {
        assert.ok(vm.accel === 'kvm' || vm.accel === 'tcg');
        assert.ok(vm.sshPort > 0 && vm.sshPort < 65536);
        assert.equal(qemuProcessesMentioning(work).length, 1, 'one QEMU process runs for the VM');
        assert.equal(await countDomains(), domainsBefore + (name === 'libvirt' ? 1 : 0));
        await waitForSerial(vm, /TINY-READY/, BOOT_TIMEOUT_MS);
        assert.match(await waitForSerial(vm, /TINY-DISK:.*/, 1000), /TINY-DISK:vda\b/);
        assert.equal(await waitForSerial(vm, /TINY-GUESTFWD:.*/, 60_000), `TINY-GUESTFWD:pong-ping-${nonce}`);
        assert.equal(await readBanner(vm.sshPort), 'TINY-HOSTFWD-OK');
        assert.equal(await vm.shutdown(120_000), true, 'the guest powered off on the ACPI button');
        await vm.exited;
      } finally {
        await vm.dispose();
      }
      assert.deepEqual(qemuProcessesMentioning(work), []);
      assert.equal(await countDomains(), domainsBefore);
      assert.match(readFileSync(join(work, 'boot.serial.log'), 'utf8'), /reboot: Power down/);
    });

    it('kill stops a running VM at once; dispose is idempotent and leaves nothing', async () => {
      const domainsBefore = await countDomains();
      const vm = await make().start(spec('kill'));
      assert.equal(qemuProcessesMentioning(work).length, 1);
      await vm.kill();
      await vm.exited;
      assert.deepEqual(qemuProcessesMentioning(work), []);
      await vm.dispose();
      await vm.dispose();
      assert.equal(await vm.shutdown(1000), true, 'shutdown of a stopped VM reports stopped');
      assert.equal(await countDomains(), domainsBefore);
    });

    it('refuses a spec whose kernel does not exist, starting nothing', async () => {
      const s = { ...spec('nokernel'), kernel: join(work, 'no-such-vmlinuz') };
      await assert.rejects(make().start(s), (e) => isUnderstudyError(e) && e.code === 'hypervisor' && /no-such-vmlinuz/.test(e.message));
      assert.deepEqual(qemuProcessesMentioning(work), []);
    });

    it('honors an aborted signal', async () => {
      const ac = new AbortController();
      ac.abort();
      await assert.rejects(make().start(spec('aborted'), ac.signal), (e) => isUnderstudyError(e) && e.code === 'cancelled');
      assert.deepEqual(qemuProcessesMentioning(work), []);
    });
  });
}

const noDomains = async () => 0;
hypervisorContract('qemu', () => new QemuHypervisor(), noDomains);
hypervisorContract('libvirt', () => new LibvirtHypervisor({ uri: DEFAULT_LIBVIRT_URI }),
  async () => (await listDomains(DEFAULT_LIBVIRT_URI, 'understudy-contract-')).length);
