// `npm run bench -- fleet [--hosts N] [--parallel N] [--tree DIR]`: a fleet of N dir: hosts cloned from one
// root (default: the demo host's tree), each made different the way real clones are (host name,
// machine-id, SSH host keys, a log of its own), upgraded hello-service 1.0 -> 2.0 by `understudy batch
// --yes`, side by side in one run:
//   sharing on  (default): the survey captures every host, one group, one rehearsal, followers verified
//   sharing off (--no-sharing): every host rehearses in a sandbox of its own
// Each side gets its own fresh clones, store and empty sandbox image cache. Printed: rehearsals,
// sandboxes booted, wall time, and the ratio on/off.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoHostImage, mirrorImage } from '../main/adapters/qemu/image-cache.ts';

const CLI = join(import.meta.dirname, '..', 'bin', 'understudy.mjs');
const INSTALL_2 = 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q hello-service=2.0';
const CHECK = 'curl -fsS http://127.0.0.1:8080/version | grep -qx 2.0';

const opt = (args: string[], name: string, dflt: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1]! : dflt; };

/** N clones of `tree` under `dir`, each with its own identity. */
function clones(tree: string, dir: string, n: number): string[] {
  mkdirSync(dir);
  return Array.from({ length: n }, (_, i) => {
    const name = `web${i + 1}`, h = join(dir, name);
    execFileSync('cp', ['-a', tree, h]);
    writeFileSync(join(h, 'etc/hostname'), `${name}\n`);
    writeFileSync(join(h, 'etc/machine-id'), `${randomBytes(16).toString('hex')}\n`);
    for (const f of readdirSync(join(h, 'etc/ssh')).filter((f) => f.startsWith('ssh_host_'))) rmSync(join(h, 'etc/ssh', f));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${name}`, '-f', join(h, 'etc/ssh/ssh_host_ed25519_key')]);
    writeFileSync(join(h, 'var/log/fleet-host.log'), `${name} provisioned\n`);
    return `dir:${h}`;
  });
}

async function batch(work: string, targets: string[], parallel: string, extra: string[]): Promise<{ seconds: number; result: Record<string, any>; booted: number }> {
  const fleet = join(work, 'fleet.yaml');
  const mirror = (await mirrorImage({ build: true })).dir;
  writeFileSync(fleet, ['plan:', `  run: "${INSTALL_2}"`, `  checks: ["${CHECK}"]`, `  mirrors: ["${mirror}"]`, 'hosts:', ...targets.map((t) => `  - target: ${t}`)].join('\n') + '\n');
  const store = join(work, 'store');
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, 'batch', fleet, '--yes', '--canary', '1', '--parallel', parallel, '--store', store, ...extra, '--json'],
  { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, UNDERSTUDY_IMAGES: join(work, 'images') } });
  let out = '';
  child.stdout.on('data', (c) => { out += c; });
  const code = await new Promise<number | null>((r) => child.on('close', r));
  const seconds = (performance.now() - t0) / 1000;
  const result = JSON.parse(out.trim().split('\n').pop()!) as Record<string, any>;
  if (code !== 0) throw new Error(`bench fleet: batch ${extra.join(' ')} failed (exit ${code}): ${JSON.stringify(result.error ?? result)}`);
  const booted = readdirSync(join(store, 'runs')).filter((r) => existsSync(join(store, 'runs', r, 'serial.log'))).length;
  return { seconds, result, booted };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const n = Number(opt(args, '--hosts', '8'));
  const parallel = opt(args, '--parallel', '2');
  const tree = opt(args, '--tree', '') || (await demoHostImage({ build: true })).tree;
  const work = mkdtempSync(join(tmpdir(), 'understudy-bench-fleet-'));
  try {
    const side = async (name: string, extra: string[]) => {
      const dir = join(work, name);
      mkdirSync(dir);
      return batch(dir, clones(tree, join(dir, 'hosts'), n), parallel, extra);
    };
    const on = await side('sharing-on', []);
    const off = await side('sharing-off', ['--no-sharing']);
    const r = {
      hosts: n, parallel: Number(parallel), tree,
      on: { seconds: on.seconds, rehearsals: on.result.rehearsals, sandboxes: on.booted, groups: on.result.groups?.length, survey: on.result.survey?.seconds },
      off: { seconds: off.seconds, rehearsals: off.result.rehearsals, sandboxes: off.booted },
      ratio: on.seconds / off.seconds,
    };
    console.log(`fleet: ${n} dir: clones of ${tree}, --parallel ${parallel}, upgrade hello-service 1.0 -> 2.0`);
    console.log(`  sharing on : ${r.on.rehearsals} rehearsal(s), ${r.on.sandboxes} sandbox(es), ${r.on.groups} group(s), ${on.seconds.toFixed(0)} s (survey ${Number(r.on.survey ?? 0).toFixed(0)} s)`);
    console.log(`  sharing off: ${r.off.rehearsals} rehearsal(s), ${r.off.sandboxes} sandbox(es), ${off.seconds.toFixed(0)} s`);
    console.log(`  on/off: ${r.ratio.toFixed(2)}x the wall time`);
    return r;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
