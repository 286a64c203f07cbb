// Runs side by side never share a sandbox, a run directory or run state (issue 20), and runs killed in
// their sandbox stages finish with resume (issue 17), on real parts: `dir:` copies of the demo host tree,
// each with an identity file of its own, upgraded by a command whose result depends on that file (and
// which writes it to the sandbox's serial console). Sandboxes are real VMs.
//   1. `batch --parallel 3` of three hosts, one of which fails its check (its identity says so), killed
//      with SIGKILL while all three are in sandbox stages, then `resume BATCH` (QEMU): the two others end
//      exactly at their own map2 (their own bytes), the third is untouched; every run's serial log and
//      output.log hold its own identity only; the resumed batch process exits by itself; no QEMU, overlay
//      or temp dir is left.
//   2. Two upgrades started at once through the server (`understudy serve`, the UI's engine) under
//      libvirt, the server killed with SIGKILL while both are in sandbox stages (their domains outlive
//      it), a new server resumes both through the UI's contract command: the same assertions, the old
//      domains destroyed, and the server exits by itself on SIGINT.
// The copies in (2) have the same content as two hosts of (1), so their sandbox images are reused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';
import { demoHostImage } from '../../main/adapters/qemu/image-cache.ts';
import { DEFAULT_LIBVIRT_URI } from '../../main/adapters/libvirt/index.ts';
import { libvirtDomainsMentioning, qemuProcessesMentioning } from '../../main/adapters/sandbox/leak-check.ts';
import { RunStore } from '../../main/app/run-store/run-store.ts';
import { BatchStore } from '../../main/app/run-store/batch-store.ts';
import { createWsTransport, type WsTransport } from '../../main/contract/ws-transport.ts';
import { SANDBOX_STAGES } from '../../main/core/workflow/resume-plan.ts';
import type { RunContext } from '../../main/core/workflow/run-types.ts';
import { cliJson, spawnCli } from './helpers/cli-json.ts';
import { demoHostCopy, treeHash, treeVersusMap } from './helpers/host-trees.ts';

const CLI = new URL('../../bin/understudy.mjs', import.meta.url).pathname;
// the sleep keeps the run in upgrading long enough to be killed there
const RUN = 'set -e; sleep 15; cat /etc/bar-identity; cp /etc/bar-identity /etc/bar-result; cat /etc/bar-identity >> /etc/motd; '
  + 'echo "SERIAL-MARK $(cat /etc/bar-identity)" > /dev/ttyS0';
const CHECK = '! grep -q failing /etc/bar-result';
const LEAK = /still open after the verb finished/;

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20 * 60_000, stepMs = 250): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!await cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** `understudy serve --json` in its own process; its URL's port and token, and its exit. */
async function serve(store: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI, 'serve', '--json', '--store', store], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-20_000); });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const serving = JSON.parse(await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve))) as { port: number; token: string };
  const t = createWsTransport(`ws://127.0.0.1:${serving.port}/ws?token=${serving.token}`, WebSocket as unknown as new (url: string) => globalThis.WebSocket);
  return { child: child as ChildProcess, t, exited, stderr: () => stderr };
}

describe('parallel runs never share a sandbox; killed, they resume (real VMs)', { timeout: 60 * 60_000 }, () => {
  let tree: string;
  let work: string;
  let privateTmp: string;
  const identity = (name: string) => `${name} ${Math.random().toString(36).slice(2)}${name === 'host-c' ? ' failing' : ''}`;
  const ids: Record<string, string> = {};

  before(async () => {
    tree = (await demoHostImage({ build: true })).tree;
    work = mkdtempSync(join(tmpdir(), 'understudy-parallel-test-'));
    privateTmp = mkdtempSync(join(tmpdir(), 'understudy-parallel-tmp-'));
    for (const n of ['host-a', 'host-b', 'host-c']) ids[n] = identity(n);
  });
  after(() => {
    for (const d of [work, privateTmp]) if (d) rmSync(d, { recursive: true, force: true });
  });

  const env = () => ({ TMPDIR: privateTmp });
  const motdOf = (dir: string) => readFileSync(join(dir, 'etc/motd'), 'utf8');
  const inSandboxStage = (state: string | undefined) => state !== undefined && SANDBOX_STAGES.includes(state);

  /** Nothing of any sandbox is left: no QEMU or libvirt domain on our temp dir, no overlay or temp dir in it. */
  const assertNothingLeft = async () => {
    assert.deepEqual(qemuProcessesMentioning(privateTmp), [], 'no sandbox QEMU process left');
    assert.deepEqual(await libvirtDomainsMentioning(DEFAULT_LIBVIRT_URI, privateTmp), [], 'no sandbox libvirt domain left');
    assert.deepEqual(readdirSync(privateTmp).filter((n) => n.startsWith('understudy-')), [], 'no sandbox temp dir or overlay left');
  };

  /** Run `run` (of `host`) rehearsed in its own sandbox: its serial console and output.log hold its identity, no other's. */
  const assertOwnLogs = (store: string, run: string, host: string, all: string[]) => {
    const dir = join(store, 'runs', run);
    const serial = readFileSync(join(dir, 'serial.log'), 'utf8');
    const output = readFileSync(join(dir, 'output.log'), 'utf8');
    assert.ok(serial.includes(`SERIAL-MARK ${ids[host]}`), `${host}'s serial log has its own mark`);
    assert.ok(output.includes(ids[host]!), `${host}'s output.log has its own identity`);
    for (const other of all.filter((h) => h !== host)) {
      assert.ok(!serial.includes(ids[other]!) && !output.includes(ids[other]!), `${host}'s logs hold nothing of ${other}`);
    }
  };

  /** An upgraded host: its own identity made its result, and the tree is exactly the map2 its run swapped in. */
  const assertOwnResult = async (store: string, run: string, dir: string, host: string, motdBefore: string) => {
    assert.equal(readFileSync(join(dir, 'etc/bar-result'), 'utf8'), ids[host] + '\n');
    assert.equal(motdOf(dir), motdBefore + ids[host] + '\n');
    const rec = new RunStore(store);
    try {
      const result = rec.get(run)!.result as { map2: string; cleanupError?: string };
      assert.equal(result.cleanupError, undefined, 'the run released its sandbox itself');
      assert.deepEqual(await treeVersusMap(dir, store, result.map2, join(work, 'scratch-store')), { added: [], changed: [], removed: [] },
        `${host} is exactly its run's map2`);
    } finally { rec.close(); }
  };

  /** Each run had sandboxes of its own (ids neither run ids nor another run's), and was resumed once, rewound to booting. */
  const assertOwnSandboxesAndResumed = (store: string, runs: string[]) => {
    const rec = new RunStore(store);
    try {
      const ctx = runs.map((r) => (rec.snapshot(r) as { context: RunContext }).context);
      const sandboxIds = ctx.map((c) => c.sandbox?.id);
      assert.equal(new Set(sandboxIds).size, runs.length, `distinct sandboxes: ${sandboxIds.join(' ')}`);
      for (const id of sandboxIds) assert.ok(id && !runs.includes(id));
      for (const c of ctx) {
        assert.equal(c.resumes?.length, 1);
        assert.ok(inSandboxStage(c.resumes![0]!.from) && c.resumes![0]!.to === 'booting', JSON.stringify(c.resumes));
      }
    } finally { rec.close(); }
  };

  /** Every run's stage times (and error), for the test log. */
  const stageSeconds = (store: string) => {
    const rec = new RunStore(store);
    try {
      return JSON.stringify(rec.list().map((r) => {
        const res = r.result as { timings?: unknown; error?: unknown } | undefined;
        return [r.target.replace(/.*\//, ''), res?.timings, ...(res?.error ? [res.error] : [])];
      }));
    } finally { rec.close(); }
  };

  it('batch --parallel 3 (one host failing its check), killed in sandbox stages, resume BATCH: each host gets its own result', async () => {
    const hosts = ['host-a', 'host-b', 'host-c'];
    const dirs = Object.fromEntries(hosts.map((h) => [h, demoHostCopy(tree, join(work, h), h, ids[h]!)]));
    const motd = motdOf(dirs['host-a']!);
    const cHash = await treeHash(dirs['host-c']!);
    const fleet = join(work, 'fleet.yaml');
    writeFileSync(fleet, `plan:\n  run: ${JSON.stringify(RUN)}\n  checks: [${JSON.stringify(CHECK)}]\nhosts:\n`
      + hosts.map((h) => `  - target: dir:${dirs[h]}\n`).join(''));
    const store = join(work, 'store-batch');
    const started = Date.now();
    // --no-sharing: these hosts' upgrade reads a file of their own (the point here is that parallel runs stay apart)
    const first = spawnCli(['batch', fleet, '--yes', '--canary', '0', '--parallel', '3', '--max-fail', '1', '--no-sharing', '--store', store], env());
    await until('the run store', () => existsSync(join(store, 'runs.db')));
    let batch = '';
    const rs = new RunStore(store);
    try {
      await until('all three hosts in sandbox stages, one upgrading', () => {
        const b = new BatchStore(rs).list(1)[0];
        batch = b?.id ?? '';
        const states = (b?.hosts ?? []).map((h) => (h.runId ? rs.get(h.runId)?.state : undefined));
        return states.length === 3 && states.every(inSandboxStage) && states.includes('upgrading');
      });
    } finally { rs.close(); }
    first.child.kill('SIGKILL');
    await first.done;
    await until('its QEMUs to die with it', () => qemuProcessesMentioning(privateTmp).length === 0, 15_000);
    const listed = await cliJson(['runs', '--batches', '--store', store]);
    assert.equal(listed.result.batches[0].state, 'interrupted');

    const r = await cliJson(['resume', batch, '--store', store], env(), { deadlineMs: 25 * 60_000 });
    console.log(`batch of 3 at --parallel 3, killed and resumed: ${((Date.now() - started) / 1000).toFixed(1)} s; stage seconds: ${stageSeconds(store)}`);
    assert.equal(r.timedOut, false, `the resumed batch exited by itself\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, LEAK);
    assert.equal(r.code, 4, r.stderr);
    const byHost = Object.fromEntries(r.result.hosts.map((h: { target: string }) => [h.target.slice(`dir:${work}/`.length), h]));
    assert.deepEqual(hosts.map((h) => byHost[h].outcome), ['upgraded', 'upgraded', 'check-failed']);
    assert.deepEqual([...r.result.resumed].sort(), hosts.map((h) => `dir:${dirs[h]}`));
    const runs = hosts.map((h) => byHost[h].run as string);
    assertOwnSandboxesAndResumed(store, runs);
    for (const h of hosts) assertOwnLogs(store, byHost[h].run, h, hosts);
    await assertOwnResult(store, byHost['host-a'].run, dirs['host-a']!, 'host-a', motd);
    await assertOwnResult(store, byHost['host-b'].run, dirs['host-b']!, 'host-b', motd);
    assert.equal(await treeHash(dirs['host-c']!), cHash, 'the host whose check failed is untouched');
    await assertNothingLeft();
  });

  it('two upgrades at once through the server (libvirt), the server killed in sandbox stages, resumed from a new server: own results', async () => {
    const hosts = ['host-a', 'host-b'];
    const dirs = Object.fromEntries(hosts.map((h) => [h, demoHostCopy(tree, join(work, `served-${h}`), h, ids[h]!)]));
    const motd = motdOf(dirs['host-a']!);
    const store = join(work, 'store-serve');
    const started = Date.now();
    const details = (t: WsTransport, runs: string[]) => Promise.all(runs.map(async (run) => {
      const d = await t.invoke('runs:get', { run });
      assert.ok(d.ok, JSON.stringify(d));
      return d.value;
    }));

    const first = await serve(store, env());
    let runs: string[];
    let domains: string[];
    try {
      const starts = await Promise.all(hosts.map((h) => first.t.invoke('run:start', {
        kind: 'upgrade', target: `dir:${dirs[h]}`, run: RUN, checks: [CHECK], yes: true, hypervisor: 'libvirt',
      })));
      runs = starts.map((s) => { assert.ok(s.ok, JSON.stringify(s)); return s.value.run; });
      await until('both in sandbox stages, one upgrading', async () => {
        const states = (await details(first.t, runs)).map((d) => d.stage);
        return states.every(inSandboxStage) && states.includes('upgrading');
      });
      domains = await libvirtDomainsMentioning(DEFAULT_LIBVIRT_URI, privateTmp);
      assert.equal(domains.length, 2, 'one domain per run');
    } finally {
      first.t.close();
      first.child.kill('SIGKILL');
      await first.exited;
    }
    // libvirtd, not we, is their parent: the domains outlive the killed server
    assert.deepEqual((await libvirtDomainsMentioning(DEFAULT_LIBVIRT_URI, privateTmp)).sort(), domains.sort());

    const second = await serve(store, env());
    try {
      assert.deepEqual((await details(second.t, runs)).map((d) => d.status), ['interrupted', 'interrupted']);
      for (const run of runs) {
        const r = await second.t.invoke('run:resume', { run }); // what the UI's Resume button sends
        assert.ok(r.ok, JSON.stringify(r));
      }
      await until('both finished', async () => (await details(second.t, runs)).every((d) => d.status !== 'running' && d.status !== 'review'), 20 * 60_000, 2000);
      const done = await details(second.t, runs);
      assert.deepEqual(done.map((d) => d.outcome), ['upgraded', 'upgraded'], `${JSON.stringify(done.map((d) => [d.error, d.logs.slice(-15)]))}\n${second.stderr()}`);
      for (const d of done) assert.match(d.resumes[0]?.text ?? '', /^(resumed: rewound from \S+ to booting|resumed at booting) \(sandbox gone\)$/);
      console.log(`two runs through serve (libvirt), killed and resumed: ${((Date.now() - started) / 1000).toFixed(1)} s; stage seconds: ${stageSeconds(store)}`);
      const now = await libvirtDomainsMentioning(DEFAULT_LIBVIRT_URI, privateTmp);
      assert.ok(!now.some((d) => domains.includes(d)), 'the killed server\'s domains were destroyed');
      assertOwnSandboxesAndResumed(store, runs);
      for (const [i, h] of hosts.entries()) {
        assertOwnLogs(store, runs[i]!, h, hosts);
        await assertOwnResult(store, runs[i]!, dirs[h]!, h, motd);
      }
    } finally {
      second.t.close();
      second.child.kill('SIGINT');
      const deadline = setTimeout(() => second.child.kill('SIGKILL'), 60_000);
      const code = await second.exited;
      clearTimeout(deadline);
      assert.equal(code, 0, `serve exited by itself after SIGINT\n${second.stderr()}`);
    }
    assert.doesNotMatch(second.stderr(), LEAK);
    await assertNothingLeft();
  });
});
