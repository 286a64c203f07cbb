// A sandbox on a remote pool member (SandboxSite), everything over the member's one SSH connection:
// - disks: the base image in the member's content-addressed cache (member-images.ts, sent once per
//   content); the run's qcow2 overlay (backed by the cached root.img, by its path there) and seed disk are
//   made here and placed in WORK/runs/ID there, with the image key (so the cache never evicts it meanwhile)
//   and the owner (so a later start can tell a stale run directory);
// - the guest's SSH: QEMU's hostfwd listens on the member's loopback; a listener on ours tunnels each
//   connection there (direct-tcpip);
// - package traffic: a remote forward on the member's loopback carries each connection back here, to the
//   mirror or proxy endpoint; the member's guestfwd program (perl or python3, member-relay.*) connects to it;
// - the serial console is followed (tail -F) into the run directory here, as with a local sandbox.
// If the connection drops, lost() says so; the sandbox stages then fail with the member named.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { Hypervisor } from '../../core/ports/hypervisor.port.ts';
import { shellQuote as q } from '../capture/remote-listing.ts';
import { currentOwner } from '../libvirt/domain-owner.ts';
import { overlayDisk, seedDisk } from '../sandbox/disk-build.ts';
import type { Endpoint, PreparedSite, SandboxSite } from '../sandbox/sandbox-vm.ts';
import { ensureMemberImage } from './member-images.ts';
import type { MemberSession } from './member-session.ts';
import { writeOwnerFile } from '../local/process-owner.ts';

/** Splices two streams both ways; an end is passed on as a half-close, an error tears both down. */
export function splice(a: Duplex, b: Duplex): void {
  const kill = () => { a.destroy(); b.destroy(); };
  a.on('error', kill);
  b.on('error', kill);
  a.pipe(b);
  b.pipe(a);
}

/** Sends a few small files into `dir` on the member (one tar stream). */
async function sendFiles(s: MemberSession, localDir: string, names: string[], dir: string, signal?: AbortSignal): Promise<void> {
  const remote = await s.ssh.execStream(`mkdir -p ${q(dir)} && tar -xSf - -C ${q(dir)}`, { stdin: 'pipe', signal, timeoutMs: 10 * 60_000 });
  remote.stdout.resume();
  const tar = spawn('tar', ['-c', '-S', '-f', '-', '-C', localDir, ...names], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  tar.stderr.on('data', (c: Buffer) => { err += c; });
  remote.stdin!.on('error', () => undefined);
  tar.stdout.pipe(remote.stdin!);
  const [code, res] = await Promise.all([new Promise<number | null>((r) => tar.on('close', r)), remote.done]);
  if (code !== 0) throw new UnderstudyError('io', `packing run files for pool member ${s.spec.name}: ${err.trim()}`);
  if (res.exitCode !== 0) throw new UnderstudyError('hypervisor', `pool member ${s.spec.name}: storing run files in ${dir} failed: ${res.stderrTail.trim()}`);
}

/** Run directories our sandboxes use now, as `${uri}|${dir}` (a sweep of the member leaves them alone). */
export const activeRunDirs = new Set<string>();

export interface MemberSiteOptions {
  /** Told about bytes sent to the member (image and run files), for reports and the pool bench. */
  onSent?(bytes: number): void;
}

export function memberSite(s: MemberSession, hypervisor: Hypervisor, opts: MemberSiteOptions = {}): SandboxSite {
  const where = `pool member ${s.spec.name}`;
  return {
    hypervisor, where,
    async prepare({ base, publicKey, runDir, signal, log }): Promise<PreparedSite> {
      let lostWhy: string | undefined;
      void s.whenLost.then((why) => { lostWhy = why; });
      const { image, sentBytes, cached } = await ensureMemberImage(s, base, { signal, log });
      opts.onSent?.(sentBytes);
      if (cached) log?.(`${where} holds the sandbox image ${image.key.slice(0, 12)} already: nothing sent`);
      const id = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
      const dir = `${s.info.workDir}/runs/${id}`;
      const local = await mkdtemp(join(tmpdir(), 'understudy-member-run-'));
      writeOwnerFile(local); // a killed run's is removed by the next start (app/stage-services/stale-files.ts)
      const closers: Array<() => Promise<void>> = [];
      const active = `${s.spec.uri}|${dir}`;
      activeRunDirs.add(active);
      let disposed = false;
      const dispose = async () => {
        if (disposed) return;
        disposed = true;
        for (const c of closers.reverse()) await c().catch(() => undefined);
        await rm(local, { recursive: true, force: true });
        // a lost member keeps it until we reach it again (sandbox-pool.ts sweeps it then)
        if (!lostWhy) await s.sh(`rm -rf ${q(dir)}`, { timeoutMs: 60_000 }).catch(() => undefined);
        activeRunDirs.delete(active);
      };
      try {
        await overlayDisk(image.rootImg, local, (await stat(base.rootImg)).size);
        await seedDisk(local, publicKey);
        await writeFile(join(local, 'image'), image.key + '\n');
        await writeFile(join(local, 'owner'), JSON.stringify(currentOwner()) + '\n');
        await sendFiles(s, local, ['root.qcow2', 'seed.img', 'image', 'owner'], dir, signal);
        await mkdir(runDir, { recursive: true });
        let serial = followSerial(s, `${dir}/serial.log`, join(runDir, 'serial.log'));
        closers.push(serial.finish);
        let boots = 0;
        return {
          kernel: image.kernel, initrd: image.initrd, overlay: `${dir}/root.qcow2`, seed: `${dir}/seed.img`, serialLog: `${dir}/serial.log`,
          async guestForward(to: Endpoint) {
            const fwd = await s.ssh.listenRemote('127.0.0.1', (conn) => {
              const upstream = connect({ host: to.host, port: to.port, allowHalfOpen: true });
              splice(conn, upstream);
            });
            closers.push(fwd.close);
            return s.relayCommand(fwd.port);
          },
          async reach(port: number) {
            const server = await loopbackTunnel(s, port);
            closers.push(() => new Promise<void>((r) => server.close(() => r())));
            return (server.address() as { port: number }).port;
          },
          booted: () => serial.pause(),
          workDir: local,
          async placeBoot(b, sig) {
            // the later boot's kernel and initrd go next to the run's disks; its console is followed here
            const n = ++boots;
            const stage = join(local, `boot-${n}`);
            await mkdir(stage);
            await copyFile(b.kernel, join(stage, 'vmlinuz'));
            if (b.initrd) await copyFile(b.initrd, join(stage, 'initrd.img'));
            await sendFiles(s, stage, ['vmlinuz', ...(b.initrd ? ['initrd.img'] : [])], `${dir}/boot-${n}`, sig);
            await serial.pause();
            serial = followSerial(s, `${dir}/boot-${n}/serial.log`, b.serialLog);
            closers.push(serial.finish);
            return { kernel: `${dir}/boot-${n}/vmlinuz`, ...(b.initrd ? { initrd: `${dir}/boot-${n}/initrd.img` } : {}), serialLog: `${dir}/boot-${n}/serial.log` };
          },
          lost: () => lostWhy,
          dispose,
        };
      } catch (e) {
        await dispose();
        throw e;
      }
    },
  };
}

/** A listener on our loopback whose connections are tunnelled to `port` on the member's loopback. */
function loopbackTunnel(s: MemberSession, port: number): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    s.ssh.tunnel('127.0.0.1', port).then((ch) => splice(sock, ch), () => sock.destroy());
  });
  const close = server.close.bind(server);
  server.close = (cb?: (err?: Error) => void) => { for (const x of sockets) x.destroy(); return close(cb); };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/**
 * The member's serial console file, copied into `localFile`: followed live while the sandbox boots (the
 * run's log shows the console), then paused (an open channel per running sandbox would count against the
 * member sshd's MaxSessions) and caught up once more when the sandbox is disposed.
 */
function followSerial(s: MemberSession, remote: string, localFile: string): { pause(): Promise<void>; finish(): Promise<void> } {
  const out = createWriteStream(localFile);
  out.on('error', () => undefined);
  let copied = 0;
  const ctl = new AbortController();
  const live = s.ssh.exec(`exec tail -c +1 -F ${q(remote)} 2>/dev/null`, {
    signal: ctl.signal, onStdout: (c) => { copied += c.length; out.write(c); },
  }).catch(() => undefined);
  let paused: Promise<void> | undefined;
  const pause = () => paused ??= (async () => {
    ctl.abort();
    await Promise.race([live, new Promise((r) => setTimeout(r, 2000))]);
  })();
  return {
    pause,
    async finish() {
      await pause();
      await s.ssh.exec(`tail -c +${copied + 1} ${q(remote)} 2>/dev/null; true`, { timeoutMs: 30_000, onStdout: (c) => out.write(c) })
        .catch(() => undefined);
      await new Promise<void>((r) => out.end(r));
    },
  };
}
