// Pool members for tests: libvirt hypervisors that share nothing with the orchestrator (this process) but
// the kernel. Each is PID 1 of its own PID, mount and network namespaces (pool-member.sh), reached only
// through `qemu+ssh://` to its own sshd on a veth address; its loopback, /run, /tmp, libvirt state and the
// orchestrator's store, image cache, checkout and node binary are not ours. So a domain XML that names a
// path of this machine, or a forward to "127.0.0.1" meant as ours, fails there as it would on a real host.
//   const m = await startMember({ name: 'm1', hide: [store, cache] })
//   m.uri          qemu+ssh://USER@ADDR/system?keyfile=...&known_hosts=...&command=<ssh wrapper>
//   await m.kill()    power cut: SIGKILL to its PID 1 (libvirtd, QEMU, sshd all die; the work dir stays)
//   await m.restart() the same member (address, keys, work dir) again
//   m.inside('virsh -c qemu:///system list --name')   a command in its namespaces (assertions only)
//   await m.stop()
// libvirt's ssh transport runs OpenSSH, which reads ~/.ssh of the *user* (not $HOME): `command=` names a
// wrapper that gives it this test's own config and known_hosts, so nothing of root's ~/.ssh is read or
// written. Needs root (namespaces, veth).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./pool-member.sh', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export interface MemberOptions {
  name: string;
  /** Extra paths of this machine to hide from the member (the store, the image cache ...). */
  hide?: string[];
  /** The member's SSH and libvirt user: 'root' or the name of a user it gets of its own (group libvirt). */
  user?: string;
}

export interface Member {
  readonly name: string;
  readonly user: string;
  /** The member's address on its veth pair (this machine has the other end). */
  readonly addr: string;
  readonly uri: string;
  /** The SSH key and known_hosts the URI names. */
  readonly keyFile: string;
  readonly knownHosts: string;
  /** The member's work directory as the member sees it. */
  readonly workDir: string;
  /** The same directory seen from here (for assertions only; the orchestrator must never use it). */
  readonly workDirHere: string;
  readonly running: boolean;
  /** The outside PID of the member's PID 1. */
  readonly pid: number | undefined;
  inside(cmd: string): string;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

let subnet = 0;
/** A /30 per member: 10.231.<x>.<4n+1> here, <4n+2> there. Distinct per process and member. */
function nextSubnet(): { here: string; there: string; n: number } {
  const n = subnet++;
  const x = (process.pid % 200) + 20;
  const base = (n % 60) * 4;
  return { here: `10.231.${x}.${base + 1}`, there: `10.231.${x}.${base + 2}`, n };
}

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export async function startMember(o: MemberOptions): Promise<Member> {
  const dir = mkdtempSync(join(tmpdir(), `understudy-member-${o.name}-`));
  const user = o.user ?? 'root';
  const net = nextSubnet();
  const ifHere = `usm${process.pid % 100000}x${net.n}`.slice(0, 15);
  const work = join(dir, 'work');
  mkdirSync(work, { mode: 0o755 });
  chmodSync(dir, 0o755);
  const conf = join(dir, 'conf');
  mkdirSync(conf);
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `member-${o.name}`, '-f', join(conf, 'ssh_host_ed25519_key')]);
  const keyFile = join(dir, 'id_ed25519');
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `orchestrator-for-${o.name}`, '-f', keyFile]);
  writeFileSync(join(conf, 'authorized_keys'), readFileSync(`${keyFile}.pub`));
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `${net.there} ${readFileSync(join(conf, 'ssh_host_ed25519_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  const sshConfig = join(dir, 'ssh_config');
  writeFileSync(sshConfig, [`UserKnownHostsFile ${knownHosts}`, 'GlobalKnownHostsFile /dev/null', 'StrictHostKeyChecking yes',
    'BatchMode yes', 'ConnectTimeout 10', 'ServerAliveInterval 5', 'ServerAliveCountMax 3', ''].join('\n'));
  const wrapper = join(dir, 'ssh');
  writeFileSync(wrapper, `#!/bin/sh\nexec ssh -F ${sshConfig} "$@"\n`, { mode: 0o755 });
  const uri = `qemu+ssh://${user}@${net.there}/system?keyfile=${encodeURIComponent(keyFile)}`
    + `&known_hosts=${encodeURIComponent(knownHosts)}&command=${encodeURIComponent(wrapper)}&no_tty=1`;
  const hide = [REPO.replace(/\/$/, ''), dir, ...(o.hide ?? [])];

  let child: ChildProcess | undefined;
  let pid: number | undefined;

  const boot = async () => {
    const args = ['--mount', '--net', '--pid', '--fork', '--kill-child', '--mount-proc', 'bash', SCRIPT, conf, net.there, work, user,
      ...hide.flatMap((p) => ['--hide', p])];
    const c = spawn('unshare', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    child = c;
    let out = '', err = '';
    c.stdout!.on('data', (b: Buffer) => { out += b; });
    c.stderr!.on('data', (b: Buffer) => { err = (err + b).slice(-8000); });
    // the PID of the namespace's init: unshare's child
    const started = Date.now();
    while (pid === undefined) {
      if (c.exitCode !== null) throw new Error(`member ${o.name} exited at once: ${err}`);
      try {
        const kids = readFileSync(`/proc/${c.pid}/task/${c.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
        if (kids.length) pid = Number(kids[0]);
      } catch { /* not yet */ }
      if (pid === undefined) {
        if (Date.now() - started > 10_000) throw new Error(`member ${o.name}: no namespace init after 10 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    // the veth pair: one end here, the other moved into the member's network namespace
    run('ip', ['link', 'add', ifHere, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(pid)]);
    run('ip', ['addr', 'add', `${net.here}/30`, 'dev', ifHere]);
    run('ip', ['link', 'set', ifHere, 'up']);
    run('nsenter', ['-t', String(pid), '-n', 'ip', 'addr', 'add', `${net.there}/30`, 'dev', 'eth0']);
    run('nsenter', ['-t', String(pid), '-n', 'ip', 'link', 'set', 'eth0', 'up']);
    c.stdin!.write('go\n');
    const deadline = Date.now() + 60_000;
    while (!out.includes('MEMBER-READY')) {
      if (c.exitCode !== null) throw new Error(`member ${o.name} died while starting: ${err}`);
      if (Date.now() > deadline) throw new Error(`member ${o.name} not ready within 60 s: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const halt = async (signal: NodeJS.Signals) => {
    const c = child;
    if (!c || c.exitCode !== null) { child = undefined; pid = undefined; return; }
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    if (pid) { try { process.kill(pid, signal); } catch { /* gone */ } }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (c.exitCode === null) { c.kill('SIGKILL'); await exited; }
    child = undefined;
    pid = undefined;
    // the veth pair goes with the namespace; our end too
    try { run('ip', ['link', 'del', ifHere]); } catch { /* already gone */ }
  };

  await boot();
  return {
    name: o.name, user, addr: net.there, uri, keyFile, knownHosts,
    workDir: '/srv/understudy-member', workDirHere: work,
    get running() { return child !== undefined && child.exitCode === null; },
    get pid() { return pid; },
    inside: (cmd) => {
      if (!pid) throw new Error(`member ${o.name} is not running`);
      return run('nsenter', ['-t', String(pid), '-m', '-n', '-p', '--', 'sh', '-c', cmd]);
    },
    kill: () => halt('SIGKILL'),
    restart: async () => { await halt('SIGKILL'); await boot(); },
    stop: async () => {
      await halt('SIGKILL');
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
