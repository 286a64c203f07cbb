// `npm run bench -- downloads`: the store's download cache on the real archive. Two identical rehearsals of
// the stock host (vm-images/stock-host, mounted read-only as a dir: target) installing packages from its own
// sources; the first is the baseline of the same run. Reported per rehearsal: bytes the sandbox received,
// bytes that had to come from upstream (http and https), and how much the cache answered.
// Goal: the second rehearsal downloads no package file (pool/) and no by-hash index again; only InRelease
// files and https (a tunnel: never cached, understudy does not decrypt it) come from upstream.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stockHostImage } from '../main/adapters/qemu/image-cache.ts';
import type { NetworkReport } from '../main/core/domain/network-report.ts';

const CLI = new URL('../bin/understudy.mjs', import.meta.url).pathname;
const RUN = 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx-light tree jq';
const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;

function rehearse(root: string, store: string): Promise<{ code: number | null; result: Record<string, any>; seconds: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'rehearse', `dir:${root}`, '--run', RUN, '--store', store, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    child.on('exit', (code) => {
      let result: Record<string, any> = {};
      try { result = JSON.parse(out.trim().split('\n').pop() ?? '{}'); } catch { /* reported below */ }
      resolve({ code, result, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

function split(n: NetworkReport) {
  let http = 0, httpCached = 0, https = 0, cachedRequests = 0;
  for (const h of n.hosts) {
    if (h.tunnels) https += h.bytes; else { http += h.bytes; httpCached += h.cachedBytes; }
    cachedRequests += h.cachedRequests;
  }
  return { received: http + https, httpUpstream: http - httpCached, httpCached, https, cachedRequests };
}

export async function run(): Promise<Record<string, unknown>> {
  const image = await stockHostImage({ build: true });
  const work = mkdtempSync(join(tmpdir(), 'understudy-bench-downloads-'));
  const root = join(work, 'root');
  mkdirSync(root);
  execFileSync('mount', ['-o', 'loop,ro', image.rootImg, root]);
  try {
    const store = join(work, 'store');
    const runs = [];
    for (const label of ['first', 'second']) {
      const r = await rehearse(root, store);
      if (r.code !== 0 || !r.result.network) throw new Error(`bench downloads: the ${label} rehearsal failed: ${JSON.stringify(r.result.error ?? r.result)}`);
      runs.push({ label, seconds: r.seconds, ...split(r.result.network as NetworkReport) });
    }
    const [a, b] = runs as [typeof runs[0], typeof runs[0]];
    console.log(`downloads: two identical rehearsals of the stock host (${RUN.replace(/^.*install /, 'install ')})`);
    for (const r of runs) {
      console.log(`  ${r.label.padEnd(6)} ${r.seconds.toFixed(0).padStart(4)} s  received ${mb(r.received)}: http from upstream ${mb(r.httpUpstream)}, ` +
        `http from the cache ${mb(r.httpCached)} (${r.cachedRequests} files), https (not cacheable) ${mb(r.https)}`);
    }
    const ratio = b.httpUpstream / Math.max(1, a.httpUpstream);
    console.log(`  second/first http upstream bytes: ${ratio.toFixed(3)}x (goal: only InRelease files again)`);
    return { first: a, second: b, httpUpstreamRatio: ratio };
  } finally {
    execFileSync('umount', [root]);
    rmSync(work, { recursive: true, force: true });
  }
}
