// `npm run bench -- capture [--tree DIR] [--work DIR]`: on one tree (default /usr, >= 1 GB), side by side in one run:
//   capture throughput vs `tar -cf - -C TREE . | openssl dgst -sha256`   (goal >= 0.8x)
//   unchanged re-capture time vs full capture, content bytes read       (goal <= 5 %, 0 bytes)
//   peak RSS of the capture process                                      (goal <= 300 MB)
//   verify vs openssl over the same object bytes                         (goal >= 0.8x)
// Also, as a floor for the capture row: `cp -a TREE` into the store's filesystem + `sync -f`, what any
// store that keeps the bytes durably must at least pay on this disk (tar|openssl writes nothing); and for
// the re-capture row, `find TREE -printf` of the stat facts it compares, the lstat walk alone in C.
// Captures and verify run in child processes so each has its own peak RSS.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);

async function child(): Promise<void> {
  const [, , , verb, store, tree] = process.argv;
  const { capture } = await import('../main/adapters/capture/capture.ts');
  const { verifyStore } = await import('../main/adapters/store/verify-store.ts');
  const t0 = performance.now(); // after module loading: the work itself
  let out: Record<string, unknown>;
  if (verb === 'capture') {
    out = { ...(await capture({ store: store!, target: `dir:${tree}` })) };
  } else {
    const r = await verifyStore(store!, undefined);
    out = { ok: r.ok, objects: r.objects, bytes: r.bytes };
  }
  out.wall = (performance.now() - t0) / 1000;
  out.maxRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify(out));
}

function timed(cmd: string): number {
  const t0 = performance.now();
  execFileSync('bash', ['-o', 'pipefail', '-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'] });
  return (performance.now() - t0) / 1000;
}

function inChild(verb: string, store: string, tree: string): Record<string, any> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', verb, store, tree], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`bench child ${verb} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const i = args.indexOf('--tree');
  const tree = i >= 0 ? args[i + 1]! : process.env.BENCH_TREE ?? '/usr';
  // --work DIR: where the store (and the durable copy) go, e.g. /dev/shm to see the capture without the disk
  const w = args.indexOf('--work');
  const work = mkdtempSync(join(w >= 0 ? args[w + 1]! : tmpdir(), 'understudy-bench-capture-'));
  const store = join(work, 'store');
  const q = `'${tree.replace(/'/g, `'\\''`)}'`;
  try {
    console.error(`bench capture: tree ${tree}; warming the page cache once so both sides read it the same way`);
    timed(`tar -cf - -C ${q} . | openssl dgst -sha256`);
    const tarSec = timed(`tar -cf - -C ${q} . | openssl dgst -sha256`);
    console.error(`  tar|openssl ${tarSec.toFixed(2)} s`);
    const copy = join(work, 'copy');
    const copySec = timed(`cp -a ${q} '${copy}' && sync -f '${copy}'`);
    rmSync(copy, { recursive: true, force: true });
    execFileSync('sync', ['-f', work]);
    console.error(`  durable copy (cp -a + sync) ${copySec.toFixed(2)} s`);
    const findSec = timed(`find ${q} -printf '%s:%T@:%C@:%i\\n' > /dev/null`);
    const full = inChild('capture', store, tree);
    console.error(`  capture ${full.wall.toFixed(2)} s, ${full.bytesRead} bytes, peak RSS ${full.maxRssMb.toFixed(0)} MB`);
    const again = inChild('capture', store, tree);
    console.error(`  re-capture ${again.wall.toFixed(2)} s, ${again.bytesRead} bytes read`);
    const objects = `find ${store}/objects -type f -print0 | xargs -0 cat | openssl dgst -sha256`;
    timed(objects);
    const opensslVerifySec = timed(objects);
    const verify = inChild('verify', store, tree);
    const bytes = full.bytesRead as number;
    const r = {
      tree, files: full.files, bytes,
      tarOpensslSec: tarSec, captureSec: full.wall, captureVsTar: tarSec / full.wall,
      durableCopySec: copySec, captureVsDurableCopy: copySec / full.wall, bestVsTarOnThisDisk: tarSec / copySec,
      captureMBps: bytes / full.wall / 1e6, tarOpensslMBps: bytes / tarSec / 1e6,
      recaptureSec: again.wall, recaptureShare: again.wall / full.wall, recaptureBytesRead: again.bytesRead,
      findStatWalkSec: findSec, findStatWalkShare: findSec / full.wall,
      captureMaxRssMb: full.maxRssMb, recaptureMaxRssMb: again.maxRssMb,
      verifySec: verify.wall, opensslObjectsSec: opensslVerifySec, verifyVsOpenssl: opensslVerifySec / verify.wall, verifyOk: verify.ok,
      storeBytes: Number(execFileSync('du', ['-sb', join(store, 'objects')]).toString().split('\t')[0]),
    };
    const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
    console.log([
      `capture bench on ${tree}: ${r.files} files, ${(bytes / 1e9).toFixed(2)} GB; store in ${work}`,
      `  capture           ${r.captureSec.toFixed(2)} s  ${r.captureMBps.toFixed(0)} MB/s   tar|openssl ${r.tarOpensslSec.toFixed(2)} s  ${r.tarOpensslMBps.toFixed(0)} MB/s   ratio ${r.captureVsTar.toFixed(2)}x (goal >= 0.8x)`,
      `  durable copy      ${r.durableCopySec.toFixed(2)} s (cp -a + sync: this disk's floor for a store that keeps the bytes)   capture vs it ${r.captureVsDurableCopy.toFixed(2)}x   best capture vs tar|openssl this disk allows ${r.bestVsTarOnThisDisk.toFixed(2)}x`,
      `  unchanged again   ${r.recaptureSec.toFixed(2)} s = ${pct(r.recaptureShare)} of full (goal <= 5 %), content bytes read ${r.recaptureBytesRead} (goal 0)`,
      `  stat walk floor   find -printf of size/mtime/ctime/inode ${r.findStatWalkSec.toFixed(2)} s = ${pct(r.findStatWalkShare)} of full (the lstat walk alone, in C)`,
      `  peak RSS          capture ${r.captureMaxRssMb.toFixed(0)} MB, re-capture ${r.recaptureMaxRssMb.toFixed(0)} MB (goal <= 300 MB)`,
      `  verify            ${r.verifySec.toFixed(2)} s   openssl over the same objects ${r.opensslObjectsSec.toFixed(2)} s   ratio ${r.verifyVsOpenssl.toFixed(2)}x (goal >= 0.8x)`,
    ].join('\n'));
    return r;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child();
