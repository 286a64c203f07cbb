// A VM never outlives the understudy process that started it, even one killed outright (kill -9):
// a child process starts a tiny busybox guest through the adapter and is killed with SIGKILL; QEMU
// must die with it (parent-death signal), and a libvirt domain (whose QEMU is libvirtd's child) must be
// destroyed by the next start on this machine, while a domain whose owner still runs is left alone.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { VmSpec } from '../../main/core/ports/hypervisor.port.ts';
import { LibvirtHypervisor, listDomains, DEFAULT_LIBVIRT_URI } from '../../main/adapters/libvirt/index.ts';
import { qemuProcessesMentioning } from '../../main/adapters/sandbox/leak-check.ts';
import { cloudKernelTree, tinyGuestFromTree, type TinyGuest } from '../../main/adapters/sandbox/tiny-guest.ts';

const REPO = resolve(import.meta.dirname, '../..');
const CHILD = `
import { QemuHypervisor } from ${JSON.stringify(join(REPO, 'main/adapters/qemu/qemu-hypervisor.ts'))};
import { LibvirtHypervisor } from ${JSON.stringify(join(REPO, 'main/adapters/libvirt/index.ts'))};
const [kind, uri, spec] = [process.argv[2], process.argv[3], JSON.parse(process.argv[4])];
const hv = kind === 'qemu' ? new QemuHypervisor() : new LibvirtHypervisor({ uri });
const vm = await hv.start(spec);
console.log(JSON.stringify({ id: vm.id }));
process.on('SIGTERM', () => process.exit(0)); // the adapters' exit hooks stop what runs
setInterval(() => {}, 1 << 30);
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** Starts a VM in a child process; resolves with the child and the VM's id once the VM runs. */
function startInChild(script: string, kind: string, spec: VmSpec): Promise<{ child: ChildProcess; id: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, kind, DEFAULT_LIBVIRT_URI, JSON.stringify(spec)],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stderr!.on('data', (c: Buffer) => { err += c; });
  return new Promise((res, rej) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) res({ child, id: (JSON.parse(line) as { id: string }).id });
    });
    child.once('exit', (code) => rej(new Error(`child exited (${code}) before its VM ran: ${err}`)));
  });
}

describe('VMs do not outlive a killed understudy process', { timeout: 10 * 60_000 }, () => {
  let guest: TinyGuest;
  let work: string;
  let script: string;
  const spec = (tag: string): VmSpec => {
    const disk = join(work, `${tag}.qcow2`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '16M']);
    return { name: `orphan-${tag}`, disks: [{ path: disk, format: 'qcow2' }], kernel: guest.kernel, initrd: guest.initrd,
      cmdline: guest.cmdline, memoryMiB: 128, cpus: 1, forwardSsh: false, serialLog: join(work, `${tag}.serial.log`) };
  };

  before(async () => {
    guest = await tinyGuestFromTree(await cloudKernelTree());
    work = mkdtempSync(join(tmpdir(), 'understudy-vm-orphans-'));
    script = join(work, 'start-vm.mts'); // .mts: an ES module outside the repo's package.json
    writeFileSync(script, CHILD);
  });
  after(() => { if (work) rmSync(work, { recursive: true, force: true }); });

  it('qemu: QEMU dies with its understudy process', async () => {
    const { child } = await startInChild(script, 'qemu', spec('qemu'));
    assert.equal(qemuProcessesMentioning(join(work, 'qemu.qcow2')).length, 1, 'the VM runs');
    child.kill('SIGKILL');
    await until('QEMU gone after its parent was killed', () => qemuProcessesMentioning(join(work, 'qemu.qcow2')).length === 0, 15_000);
  });

  it('libvirt: the orphaned domain is destroyed by the next start; a live owner\'s domain is not', async () => {
    const orphan = await startInChild(script, 'libvirt', spec('orphan'));
    const alive = await startInChild(script, 'libvirt', spec('alive'));
    try {
      orphan.child.kill('SIGKILL');
      await new Promise((r) => orphan.child.once('exit', r));
      await sleep(1000);
      assert.ok((await listDomains(DEFAULT_LIBVIRT_URI)).includes(orphan.id), 'libvirt keeps the domain of a killed client');
      const vm = await new LibvirtHypervisor({ uri: DEFAULT_LIBVIRT_URI }).start(spec('next'));
      try {
        const names = await listDomains(DEFAULT_LIBVIRT_URI);
        assert.ok(!names.includes(orphan.id), 'the orphan was destroyed');
        assert.ok(names.includes(alive.id), 'the domain of a running owner was left alone');
        assert.ok(names.includes(vm.id));
      } finally {
        await vm.dispose();
      }
    } finally {
      alive.child.kill('SIGTERM'); // its exit hook destroys its domain
      await new Promise((r) => alive.child.once('exit', r));
    }
    await until('no domain of this test left', async () =>
      (await listDomains(DEFAULT_LIBVIRT_URI)).every((n) => !n.includes('orphan-')), 30_000);
    assert.deepEqual(qemuProcessesMentioning(work), []);
  });
});
