// Sandboxes on pool members that share nothing with us (helpers/pool-members.ts: own PID, mount and
// network namespaces; libvirtd reached only through qemu+ssh:// to its own sshd; our store, image cache,
// checkout and node binary hidden there), with a tiny busybox guest (boots in seconds):
// - today's adapter, which assumes shared files, fails there;
// - through the pool (one SSH connection per member): the image goes once per content into the member's
//   cache, checked on arrival; overlay and seed land there; the guest's SSH is reached through a tunnel to
//   the member's loopback, its package traffic comes back through a remote forward and the member's perl
//   relay; QEMU runs as the member's user (root on one, an unprivileged libvirt user on the other);
// - capacity 1 on each: a third sandbox waits for a hypervisor and then gets the freed slot;
// - a corrupted image is refused on arrival; the cache evicts the least recently used image to its bound;
// - a member whose connection drops: its sandbox sees it lost, the pool places elsewhere, and once the
//   member is reached again the domain we gave up there is destroyed and its run directory removed;
// - Ctrl-C of an orchestrator destroys its domains on members at once; after kill -9, the next start does;
// - `understudy batch` on a fleet file's pool: (tiny `dir:` hosts, helpers/tiny-host.ts): 4 hosts with 2
//   distinct map1s rehearse on both members at once; one member's sshd (listener and sessions) is killed
//   mid-rehearsal: its rehearsal waits for a hypervisor (capacity 1 each) and runs again on the other, the
//   host is queued once more, the batch completes and names each host's member; reached again, the
//   member's orphan is destroyed. (The plan writes one file under /etc: nothing that boots changes, so
//   `auto` rehearses no reboot; the decision is printed.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isUnderstudyError } from '../../main/core/domain/errors.ts';
import { parsePoolMember } from '../../main/core/domain/pool-spec.ts';
import type { VmHandle } from '../../main/core/ports/hypervisor.port.ts';
import { LibvirtHypervisor } from '../../main/adapters/libvirt/index.ts';
import { imageCacheRoot, type BaseImage } from '../../main/adapters/sandbox/disk-build.ts';
import { cloudKernelTree, tinyGuestFromTree, type TinyGuest } from '../../main/adapters/sandbox/tiny-guest.ts';
import { SandboxPool, type PoolLease } from '../../main/adapters/pool/sandbox-pool.ts';
import { ensureMemberImage, imageSums } from '../../main/adapters/pool/member-images.ts';
import { openMemberSession } from '../../main/adapters/pool/member-session.ts';
import { startMember, type Member } from './helpers/pool-members.ts';
import { tinyHostTree } from './helpers/tiny-host.ts';

const REPO = resolve(import.meta.dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(300);
  }
}

async function serialMatch(vm: VmHandle, re: RegExp, timeoutMs: number): Promise<string> {
  let last = '';
  await until(`serial console matching ${re}`, async () => { last = await vm.serialTail(200); return re.test(last); }, timeoutMs)
    .catch((e: Error) => { throw new Error(`${e.message}; last lines:\n${last.split('\n').slice(-20).join('\n')}`); });
  return last.match(re)![0];
}

function banner(port: number): Promise<string> {
  return new Promise((res, rej) => {
    const c = connect(port, '127.0.0.1');
    let d = '';
    c.setTimeout(20_000, () => { c.destroy(); rej(new Error('no banner')); });
    c.on('data', (x) => { d += x; });
    c.on('close', () => res(d.trim()));
    c.on('error', rej);
  });
}

/** The member's sshd dies: its listener and every process below it (the sessions too: a session's process
 *  outlives its privileged parent, and our connection with it). Its libvirtd and the domains run on. A
 *  command a session ran may end between the listing and the kill: only the listener must still be there. */
const SSHD_DIES = 'all=$(cat /run/sshd.pid); kill -0 $all || exit 1; new=$all; while [ -n "$new" ]; do '
  + 'new=$(for p in $new; do ps -o pid= --ppid "$p"; done); all="$all $new"; done; kill -9 $all 2>/dev/null; true';

/** Names of understudy's domains running on the member, asked inside it. */
const domainsOn = (m: Member) => m.inside('virsh -c qemu:///system list --name').split('\n').filter((n) => n.startsWith('understudy-'));
const runDirsOn = (m: Member) => m.inside(`ls -A /srv/understudy-member/runs 2>/dev/null; true`).split('\n').filter(Boolean);

describe('sandboxes on pool members that share nothing with the orchestrator', {
  timeout: 20 * 60_000, skip: process.getuid?.() !== 0 && 'needs root (namespaces, veth pairs)',
}, () => {
  let guest: TinyGuest;
  let work: string;
  let store: string;
  let m1: Member, m2: Member;
  let echo: Server;
  let echoPort: number;
  const nonce = randomBytes(4).toString('hex');
  const sent = new Map<string, number>();
  const pools: SandboxPool[] = [];
  let base: BaseImage;

  /** A "base image" around the tiny guest: a sparse root.img with some content of its own. */
  const tinyBase = (tag: string): BaseImage => {
    const dir = join(work, `base-${tag}`);
    execFileSync('mkdir', ['-p', dir]);
    execFileSync('truncate', ['-s', '32M', join(dir, 'root.img')]);
    execFileSync('dd', ['if=/dev/urandom', `of=${join(dir, 'root.img')}`, 'bs=1M', 'count=2', 'seek=4', 'conv=notrunc', 'status=none']);
    return { dir, rootImg: join(dir, 'root.img'), kernel: guest.kernel, initrd: guest.initrd, cmdline: guest.cmdline, cached: false, seconds: 0 };
  };
  const spec = (m: Member, extra: Record<string, unknown> = {}) =>
    parsePoolMember({ uri: m.uri, name: m.name, work_dir: m.workDir, capacity: 1, ...extra });
  const newPool = (members: Member[], extra: Record<string, unknown> = {}) => {
    const p = new SandboxPool(members.map((m) => spec(m, extra)), { store, onSent: (n, b) => sent.set(n, (sent.get(n) ?? 0) + b) });
    pools.push(p);
    return p;
  };

  /** A tiny guest through a lease: disks there, guestfwd to our echo server, hostfwd reached here. */
  async function bootTiny(lease: PoolLease, b: BaseImage, tag: string) {
    const runDir = join(work, `run-${tag}`);
    const p = await lease.site.prepare({ base: b, publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAItest test', runDir });
    const command = await p.guestForward({ host: '127.0.0.1', port: echoPort });
    const vm = await lease.site.hypervisor.start({
      name: `pool-${tag}`, kernel: p.kernel, initrd: p.initrd, cmdline: guest.cmdline, memoryMiB: 256, cpus: 1, forwardSsh: true,
      disks: [{ path: p.overlay, format: 'qcow2' }, { path: p.seed, format: 'raw' }], serialLog: p.serialLog,
      guestForwards: [{ guestAddr: '10.0.2.100', guestPort: 80, command }],
    });
    const port = await p.reach(vm.sshPort);
    return {
      vm, port, prepared: p, runDir,
      close: async () => { await vm.kill().catch(() => undefined); await vm.dispose(); await p.dispose(); lease.release(); },
    };
  }

  before(async () => {
    process.env.UNDERSTUDY_ACCEL ??= 'tcg'; // the members' probe would cost 10 s each on this machine
    guest = await tinyGuestFromTree(await cloudKernelTree());
    work = mkdtempSync(join(tmpdir(), 'understudy-pool-test-'));
    store = join(work, 'store');
    echo = createServer((s) => { let b = ''; s.on('data', (c) => { b += c; if (b.includes('\n')) s.end(`pong-${b.trim()}-${nonce}\n`); }); });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    echoPort = (echo.address() as { port: number }).port;
    base = tinyBase('a');
    const hide = [work, imageCacheRoot()];
    [m1, m2] = await Promise.all([startMember({ name: 'm1', hide }), startMember({ name: 'm2', hide, user: 'usmember' })]);
  });

  after(async () => {
    for (const p of pools) await p.close().catch(() => undefined);
    await Promise.all([m1?.stop(), m2?.stop()]);
    echo?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('a member shares nothing with us: a domain naming our paths fails there', async () => {
    assert.equal(m1.inside(`test -e ${base.rootImg} && echo visible || echo hidden`).trim(), 'hidden');
    assert.equal(m1.inside(`test -e ${join(REPO, 'package.json')} && echo visible || echo hidden`).trim(), 'hidden');
    await assert.rejects(new LibvirtHypervisor({ uri: m1.uri }).start({
      name: 'shared-paths', kernel: guest.kernel, initrd: guest.initrd, cmdline: guest.cmdline, memoryMiB: 128, cpus: 1,
      disks: [{ path: base.rootImg, format: 'raw' }], forwardSsh: true, serialLog: join(work, 'shared-paths.log'),
    }), (e) => isUnderstudyError(e) && e.code === 'hypervisor' && /No such file|does not exist|cannot access/i.test(e.message));
    assert.deepEqual(domainsOn(m1), []);
  });

  it('boots on both members through their SSH connections; capacity 1 each: the third waits, then runs', async () => {
    const pool = newPool([m1, m2]);
    const [la, lb] = [await pool.acquire({}), await pool.acquire({})];
    assert.deepEqual([la.member, lb.member].sort(), ['m1', 'm2'], 'one sandbox per member');
    let waited = '';
    let third: PoolLease | undefined;
    const thirdP = pool.acquire({ onWait: (why) => { waited = why; } }).then((l) => { third = l; return l; });
    const [a, b] = await Promise.all([bootTiny(la, base, 'a'), bootTiny(lb, base, 'b')]);
    try {
      assert.match(waited, /^waiting for a hypervisor: m1 1\/1, m2 1\/1$/);
      assert.equal(third, undefined, 'the third sandbox waits while both members are full');
      for (const [x, m] of [[a, la.member], [b, lb.member]] as const) {
        const member = m === 'm1' ? m1 : m2;
        assert.equal(await serialMatch(x.vm, /TINY-GUESTFWD:.*/, 4 * 60_000), `TINY-GUESTFWD:pong-ping-${nonce}`,
          `${m}: the guest's package connection came back to our loopback through the member's relay`);
        assert.equal(await banner(x.port), 'TINY-HOSTFWD-OK', `${m}: the guest's ssh port is reached through the member's loopback`);
        assert.ok(x.port !== x.vm.sshPort || (await banner(x.vm.sshPort).catch(() => 'refused')) !== 'TINY-HOSTFWD-OK');
        const user = member.inside('ps -o user= -C qemu-system-x86_64').trim();
        assert.equal(user, member.user, `${m}: QEMU runs as the member's user`);
        assert.equal(domainsOn(member).length, 1);
        assert.ok(sent.get(m)! > 1 << 20, `${m}: the image was sent (${sent.get(m)} bytes)`);
      }
      await a.close();
      const lc = await thirdP;
      assert.equal(lc.member, la.member, 'the freed slot went to the waiting sandbox');
      // the same content again on that member: nothing sent, the cached image is used
      const before = sent.get(lc.member);
      const p = await lc.site.prepare({ base, publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAItest test', runDir: join(work, 'run-c') });
      assert.equal(sent.get(lc.member), before, 'one image per content per member');
      await p.dispose();
      lc.release();
    } finally {
      await a.close().catch(() => undefined);
      await b.close();
    }
    assert.match(readFileSync(join(a.runDir, 'serial.log'), 'utf8'), /TINY-READY/, 'the console came back here');
    for (const m of [m1, m2]) {
      assert.deepEqual(domainsOn(m), [], `${m.name}: no domain left`);
      assert.deepEqual(runDirsOn(m), [], `${m.name}: no run directory left`);
    }
  });

  it('refuses an image that arrives corrupted; evicts the least recently used image to the cache bound', async () => {
    const s = await openMemberSession(spec(m1, { cache: '24M' }), { store });
    try {
      const b2 = tinyBase('b');
      // a wrong hash where the image's hashes are kept: the member's check must catch the mismatch
      await imageSums(b2);
      const memo = join(b2.dir, '.sha256-memo.json');
      const saved = JSON.parse(readFileSync(memo, 'utf8'));
      saved[b2.rootImg].sha256 = '0'.repeat(64);
      writeFileSync(memo, JSON.stringify(saved));
      const images = () => m1.inside('ls -A /srv/understudy-member/images').split('\n').filter(Boolean);
      const first = await ensureMemberImage(s, base);
      const before = images();
      assert.ok(before.includes(first.image.key));
      await assert.rejects(ensureMemberImage(s, b2), (e) => isUnderstudyError(e) && /hash mismatch/.test(e.message));
      const after = images();
      assert.ok(after.every((k) => before.includes(k)), `nothing of the refused image stays (before ${before}, after ${after})`);
      rmSync(memo);
      const r = await ensureMemberImage(s, b2);
      assert.equal(r.cached, false);
      assert.deepEqual(images(), [r.image.key], 'the older image went to keep the cache under 24M');
    } finally { await s.close(); }
  });

  it('a member whose connection drops: sandbox lost, pool places elsewhere; reached again, our domain there is destroyed', async () => {
    const pool = newPool([m1, m2]);
    const la = await pool.acquire({ exclude: ['m2'] });
    const a = await bootTiny(la, base, 'lost');
    try {
      await serialMatch(a.vm, /TINY-READY/, 4 * 60_000);
      // the member's sshd dies (listener and sessions); its libvirtd and the domain run on
      m1.inside(SSHD_DIES);
      await until('the sandbox sees its member lost', () => a.prepared.lost() !== undefined, 60_000);
      assert.equal(pool.status().find((m) => m.name === 'm1')?.state, 'down');
      assert.equal(domainsOn(m1).length, 1, 'the domain runs on where we cannot reach it');
      const lb = await pool.acquire({});
      assert.equal(lb.member, 'm2', 'placed on the member that is up');
      lb.release();
    } finally {
      await a.close();
    }
    m1.inside('/usr/sbin/sshd -f /run/member/sshd_config -E /run/member/sshd.log');
    await until('sshd back', () => m1.inside('cat /run/sshd.pid 2>/dev/null; true').trim() !== '', 10_000);
    await pool.open(undefined, { retryNow: true });
    assert.equal(pool.status().find((m) => m.name === 'm1')?.state, 'up');
    assert.deepEqual(domainsOn(m1), [], 'the domain we gave up was destroyed when the member came back');
    assert.deepEqual(runDirsOn(m1), [], 'and its run directory removed');
  });

  it('Ctrl-C destroys an orchestrator\'s domains on members; after kill -9 the next start does', async () => {
    const script = join(work, 'child.mts');
    writeFileSync(script, `
import { SandboxPool } from ${JSON.stringify(join(REPO, 'main/adapters/pool/sandbox-pool.ts'))};
import { parsePoolMember } from ${JSON.stringify(join(REPO, 'main/core/domain/pool-spec.ts'))};
const [entry, store, base, guest] = process.argv.slice(2).map((a) => JSON.parse(a));
const pool = new SandboxPool([parsePoolMember(entry)], { store });
const lease = await pool.acquire({});
const p = await lease.site.prepare({ base, publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAItest test', runDir: store + '/child-run' });
const vm = await lease.site.hypervisor.start({ name: 'child', kernel: p.kernel, initrd: p.initrd, cmdline: guest.cmdline, memoryMiB: 128, cpus: 1,
  forwardSsh: true, disks: [{ path: p.overlay, format: 'qcow2' }], serialLog: p.serialLog });
console.log(JSON.stringify({ id: vm.id }));
process.on('SIGINT', () => process.exit(130)); // as the CLI ends: the adapters' exit hooks stop what runs
setInterval(() => {}, 1 << 30);
`);
    const startChild = () => new Promise<{ child: ChildProcess; id: string }>((res, rej) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify({ uri: m2.uri, name: 'm2', work_dir: m2.workDir, capacity: 1 }),
        JSON.stringify(store), JSON.stringify(base), JSON.stringify(guest)], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
      let out = '', err = '';
      child.stderr!.on('data', (c: Buffer) => { err += c; });
      child.stdout!.on('data', (c: Buffer) => {
        out += c;
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) res({ child, id: (JSON.parse(line) as { id: string }).id });
      });
      child.once('exit', (code) => rej(new Error(`child exited (${code}) before its VM ran: ${err}`)));
    });
    const interrupted = await startChild();
    assert.deepEqual(domainsOn(m2), [interrupted.id]);
    interrupted.child.kill('SIGINT');
    await new Promise((r) => interrupted.child.once('exit', r));
    assert.deepEqual(domainsOn(m2), [], 'Ctrl-C: its domain on the member is destroyed as it exits');

    const killed = await startChild();
    killed.child.kill('SIGKILL');
    await new Promise((r) => killed.child.once('exit', r));
    assert.deepEqual(domainsOn(m2), [killed.id], 'libvirt keeps the domain of a killed client');
    await newPool([m2]).open();
    assert.deepEqual(domainsOn(m2), [], 'the next start destroyed the orphan on the member');
    assert.deepEqual(runDirsOn(m2), [], 'and removed its run directory');
  });

  it('a batch on a pool: both members at once, one lost mid-rehearsal and retried on the other, nothing left', async () => {
    const started = Date.now();
    const hosts = await Promise.all([1, 2, 3, 4].map((i) => tinyHostTree(join(work, `fleet-h${i}`), { marker: `group-${i % 2}` })));
    const fleet = join(work, 'pool-fleet.yaml');
    writeFileSync(fleet, [
      'plan:', '  run: "sleep 10; echo 2 > /etc/pool-version"', '  checks: ["test -s /etc/pool-version"]',
      'hosts:', ...hosts.map((h) => `  - target: dir:${h}`),
      'pool:', ...[m1, m2].map((m) => `  - { uri: "${m.uri}", name: ${m.name}, work_dir: ${m.workDir}, capacity: 1 }`), ''].join('\n'));
    const batchStore = join(work, 'batch-store');
    const child = spawn(process.execPath, [join(REPO, 'bin/understudy.mjs'), 'batch', fleet, '--rehearse', '--canary', '0', '--parallel', '4', '--json', '--store', batchStore],
      { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let out = '', err = '';
    const placed = new Map<string, string>(); // run -> member
    const upgrading = new Set<string>();
    let killed: Member | undefined;
    let lostRun: string | undefined;
    const waiting: string[] = [];
    const said: string[] = []; // the pool's and the batch's own lines, for a failure's message
    child.stderr!.on('data', (c: Buffer) => { err = (err + c).slice(-8000); });
    child.stdout!.on('data', (c: Buffer) => {
      const lines = (out + c).split('\n');
      out = lines.pop()!;
      for (const line of lines) {
        const e = JSON.parse(line) as { type: string; run?: string; stage?: string; state?: string; text?: string };
        const m = e.type === 'log' && e.run ? /^sandbox placed on pool member (\S+)/.exec(e.text ?? '') : null;
        if (m) placed.set(e.run!, m[1]!);
        if (e.type === 'log' && /^waiting for a hypervisor: /.test(e.text ?? '')) waiting.push(`${e.run}: ${e.text}`);
        if (e.type === 'log' && /pool|batch|reboot|capture2/.test((e as { source?: string }).source ?? '')) said.push(`${e.run ?? ''} ${e.text}`);
        if (e.type === 'stage' && e.state === 'failed') said.push(`${e.run} ${e.stage} failed`);
        if (e.type === 'stage' && e.stage === 'upgrading' && e.state === 'active') upgrading.add(e.run!);
        // both members rehearse at once: then one member's sshd dies under its sandbox
        const both = [...upgrading].filter((r) => placed.has(r));
        if (!killed && both.length === 2 && new Set(both.map((r) => placed.get(r))).size === 2) {
          lostRun = both[0]!;
          killed = placed.get(lostRun) === 'm1' ? m1 : m2;
          killed.inside(SSHD_DIES);
        }
        if (e.type === 'result') out = line;
      }
    });
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    const batchSeconds = (Date.now() - started) / 1000;
    const result = JSON.parse(out) as { ok: boolean; hosts: Array<{ target: string; outcome: string; member?: string; run?: string;
      waitSeconds?: number; rehearsalSeconds?: number; sharedRehearsal?: boolean; requeued?: Array<{ member?: string; error: string }> }>;
      pool: Array<{ name: string; sandboxes: number; imagesSent: number }> };
    assert.ok(killed, `both members rehearsed at once (placed: ${JSON.stringify([...placed])}); ${said.join('\n')}\n${err}`);
    const why = () => {
      const dir = join(batchStore, 'batches');
      const errors = execFileSync('sh', ['-c', 'cat "$1"/*/*.json 2>/dev/null; true', 'sh', dir], { encoding: 'utf8' })
        .split(/\n(?=\{)/).map((t) => { try { const r = JSON.parse(t); return `${r.target}: ${JSON.stringify(r.result?.error ?? r.error ?? null)}`; } catch { return ''; } });
      return `${errors.join('\n')}\n${said.join('\n')}\n${err}`;
    };
    assert.equal(code, 0, `the batch completes despite the lost member: ${JSON.stringify(result.hosts)}\n${why()}`);
    assert.equal(result.ok, true);
    const other = killed === m1 ? m2 : m1;
    const lostHost = result.hosts.find((h) => h.requeued?.length);
    assert.ok(lostHost, `the host whose member was lost was queued once more: ${JSON.stringify(result.hosts)}`);
    assert.equal(lostHost.requeued!.length, 1);
    assert.equal(lostHost.requeued![0]!.member, killed.name);
    assert.match(lostHost.requeued![0]!.error, new RegExp(`pool member ${killed.name} was lost`));
    for (const h of result.hosts) {
      assert.equal(h.outcome, 'rehearsed', `${h.target}: ${JSON.stringify(h)}`);
      assert.ok(h.member === 'm1' || h.member === 'm2', `${h.target}: the report names its member`);
      assert.equal(typeof h.waitSeconds, 'number');
    }
    assert.ok(result.hosts.filter((h) => !h.sharedRehearsal).every((h) => typeof h.rehearsalSeconds === 'number'));
    assert.equal(lostHost.member, other.name, 'its retry (or the rehearsal it shares) ran on the member that stayed');
    // the rehearsal taken over from the lost member found the other member full (capacity 1) and waited
    assert.ok(waiting.some((w) => new RegExp(`: waiting for a hypervisor: ${other.name} 1/1$`).test(w)), `waited: ${JSON.stringify(waiting)}`);
    // one image per map content per member: m-other got both contents at most once each
    const st = new Map(result.pool.map((m) => [m.name, m]));
    assert.ok(st.get(other.name)!.imagesSent <= 2 && st.get(killed.name)!.imagesSent <= 1, JSON.stringify(result.pool));
    assert.equal(st.get(other.name)!.sandboxes, 2, 'its own rehearsal and the one taken over');
    assert.deepEqual(domainsOn(other), [], `${other.name}: no domain left`);
    assert.deepEqual(runDirsOn(other), [], `${other.name}: no run directory left`);
    assert.equal(domainsOn(killed).length, 1, 'the lost member still runs the domain we could not reach');
    // the member comes back: the next start destroys the orphan and sweeps its run directory
    killed.inside('/usr/sbin/sshd -f /run/member/sshd_config -E /run/member/sshd.log');
    await until('sshd back', () => killed!.inside('cat /run/sshd.pid 2>/dev/null; true').trim() !== '', 10_000);
    await newPool([killed]).open();
    assert.deepEqual(domainsOn(killed), [], `${killed.name}: the orphan was destroyed once the member was reached again`);
    assert.deepEqual(runDirsOn(killed), [], `${killed.name}: and its run directory removed`);
    console.log(`# batch on the pool: ${batchSeconds.toFixed(1)} s (whole case ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    console.log(`# reboot rehearsal: ${[...new Set(said.filter((l) => / (not rehearsed|rehearsing the reboot|reboot rehears)/.test(l)).map((l) => l.replace(/^\S+ /, '')))].join(' | ')}`);
  });
});
