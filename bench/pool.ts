// `npm run bench -- pool [--hosts N] [--contents K] [--debian]`: a fleet rehearsed on a pool of one member
// and on a pool of two, side by side (wall time), and the bytes sent to the members: one base image per
// map content per member, not one per run. Members are test members (test/integration/helpers/
// pool-members.ts: own namespaces, libvirtd reached only through qemu+ssh:// to their sshd), capacity 1
// each, with empty caches for each pool. Hosts are tiny `dir:` roots (boot in seconds; --debian: copies
// of the demo host, a real Debian image of ~370 MB on disk). The run command sleeps 20 s: a stand-in for
// an upgrade, so both pools do the same work per rehearsal. The batch runs with --no-sharing: every host
// rehearses in a sandbox of its own, so the hosts of one content show what the members' image caches save.
// On this machine both members share the same 2 cores, so two members cannot halve CPU-bound guests:
// the ratio says what placement and parallel rehearsals give here, not on separate hypervisors.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startMember, type Member } from '../test/integration/helpers/pool-members.ts';
import { tinyHostTree } from '../test/integration/helpers/tiny-host.ts';
import { demoHostImage } from '../main/adapters/qemu/image-cache.ts';
import { imageCacheRoot } from '../main/adapters/sandbox/disk-build.ts';

const CLI = resolve(import.meta.dirname, '../bin/understudy.mjs');

interface MemberStat { name: string; sandboxes: number; imagesSent: number; bytesSent: number }
interface Round { members: number; wallSeconds: number; ok: boolean; rehearsals: number; pool: MemberStat[] }

const arg = (args: string[], name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};

/** A host tree per content group: tiny roots, or hardlinked copies of the demo host's tree. */
async function hostTrees(work: string, hosts: number, contents: number, debian: boolean): Promise<string[]> {
  const out: string[] = [];
  const demo = debian ? (await demoHostImage({ build: true })).tree : undefined;
  for (let i = 0; i < hosts; i++) {
    const dest = join(work, `h${i + 1}`);
    const group = `group-${i % contents}`;
    if (demo) {
      cpSync(demo, dest, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
      writeFileSync(join(dest, 'etc/understudy-bench-group'), group + '\n');
    } else {
      await tinyHostTree(dest, { marker: group });
    }
    if (demo) { // the same content for the hosts of a group: the marker and /etc keep one time
      const t = new Date('2026-01-01T00:00:00Z');
      utimesSync(join(dest, 'etc/understudy-bench-group'), t, t);
      utimesSync(join(dest, 'etc'), t, t);
    }
    out.push(dest);
  }
  return out;
}

async function round(work: string, hosts: string[], members: Member[]): Promise<Round> {
  const store = join(work, `store-${members.length}`);
  const fleet = join(work, `fleet-${members.length}.yaml`);
  writeFileSync(fleet, [
    'plan:', '  run: "sleep 20; echo 2 > /etc/bench-version"', '  checks: ["test -s /etc/bench-version"]',
    'hosts:', ...hosts.map((h) => `  - target: dir:${h}`),
    'pool:', ...members.map((m) => `  - { uri: "${m.uri}", name: ${m.name}, work_dir: ${m.workDir}, capacity: 1 }`), ''].join('\n'));
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, 'batch', fleet, '--rehearse', '--no-sharing', '--json', '--store', store],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env } });
  let out = '';
  child.stdout.on('data', (c: Buffer) => { out += c; });
  await new Promise((r) => child.on('exit', r));
  const wallSeconds = (Date.now() - started) / 1000;
  const last = out.trim().split('\n').pop() ?? '{}';
  const res = JSON.parse(last) as { ok?: boolean; rehearsals?: number; pool?: MemberStat[] };
  return { members: members.length, wallSeconds, ok: res.ok === true, rehearsals: res.rehearsals ?? 0, pool: res.pool ?? [] };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  if (process.getuid?.() !== 0) throw new Error('bench pool: needs root (the members run in their own namespaces)');
  const hostCount = arg(args, '--hosts', 6);
  const contents = arg(args, '--contents', 3);
  const debian = args.includes('--debian');
  const work = mkdtempSync(join(tmpdir(), 'understudy-bench-pool-'));
  const rounds: Round[] = [];
  try {
    const hosts = await hostTrees(work, hostCount, contents, debian);
    for (const n of [1, 2]) {
      // fresh members (empty caches) for each pool
      const members = await Promise.all(Array.from({ length: n }, (_, i) =>
        startMember({ name: `m${i + 1}`, hide: [work, imageCacheRoot()], ...(i === 1 ? { user: 'usmember' } : {}) })));
      try {
        rounds.push(await round(work, hosts, members));
      } finally {
        await Promise.all(members.map((m) => m.stop()));
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const [one, two] = rounds as [Round, Round];
  const mb = (b: number) => (b / 2 ** 20).toFixed(1);
  console.log(`\npool bench: ${hostCount} ${debian ? 'Debian (demo host)' : 'tiny'} hosts, ${contents} distinct contents, capacity 1 per member`);
  console.log('members  wall s   ok   rehearsals  sandboxes  images sent  MiB sent   per member');
  for (const r of rounds) {
    const sb = r.pool.reduce((n, m) => n + m.sandboxes, 0);
    const imgs = r.pool.reduce((n, m) => n + m.imagesSent, 0);
    const bytes = r.pool.reduce((n, m) => n + m.bytesSent, 0);
    console.log(`${String(r.members).padEnd(8)} ${r.wallSeconds.toFixed(1).padStart(6)}   ${String(r.ok).padEnd(5)} ${String(r.rehearsals).padStart(9)}  ${String(sb).padStart(9)}  ${String(imgs).padStart(11)}  ${mb(bytes).padStart(8)}   `
      + r.pool.map((m) => `${m.name}: ${m.sandboxes} sandboxes, ${m.imagesSent} images, ${mb(m.bytesSent)} MiB`).join('; '));
  }
  const ratio = two.wallSeconds / one.wallSeconds;
  console.log(`two members / one: ${ratio.toFixed(2)}x wall time`);
  for (const r of rounds) {
    const sb = r.pool.reduce((n, m) => n + m.sandboxes, 0);
    const imgs = r.pool.reduce((n, m) => n + m.imagesSent, 0);
    console.log(`${r.members} member(s): ${imgs} images sent for ${sb} sandboxes (at most ${contents} per member: ${imgs <= contents * r.members ? 'met' : 'MISSED'})`);
  }
  return { hosts: hostCount, contents, debian, rounds, ratio };
}
