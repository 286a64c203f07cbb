// Resume on real sandboxes (issue 17): `understudy upgrade dir:HOST` on a copy of the demo host tree,
// killed with SIGKILL inside booting, then inside checking, then inside capturing2, and resumed after each
// kill; the last kill is followed by a simulated restart of the machine (the run's owner pid and the
// target's orchestrator.lock now name another live process; the killed process's overlay and QEMU dir and
// a half-built image are left behind). After every kill no QEMU is left; `runs` shows the run interrupted;
// each resume rewinds to booting with a new sandbox. The run ends upgraded, the host is exactly the map2
// it swapped in, nothing is left, and `show` keeps every attempt's times and every resume.
// (A kill inside upgrading, under libvirt, and `resume BATCH` are in parallel-runs.test.ts.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { demoHostImage } from '../../main/adapters/qemu/image-cache.ts';
import { qemuProcessesMentioning } from '../../main/adapters/sandbox/leak-check.ts';
import { imageCacheRoot } from '../../main/adapters/sandbox/disk-build.ts';
import { RunStore } from '../../main/app/run-store/run-store.ts';
import { cliJson, spawnCli } from './helpers/cli-json.ts';
import { demoHostCopy, treeVersusMap } from './helpers/host-trees.ts';

const RUN = 'cat /etc/bar-identity; cp /etc/bar-identity /etc/bar-result; echo upgraded-after-resumes >> /etc/motd';
const CHECK = 'sleep 20; test -s /etc/bar-result'; // checking lasts long enough to be killed in

async function until(what: string, cond: () => boolean, timeoutMs = 15 * 60_000, stepMs = 100): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

describe('resume on real sandboxes (real VMs)', { timeout: 45 * 60_000 }, () => {
  let work: string;
  let privateTmp: string;
  let host: string;
  let store: string;
  const identity = `host-r ${Math.random().toString(36).slice(2)}`;

  before(async () => {
    const tree = (await demoHostImage({ build: true })).tree;
    work = mkdtempSync(join(tmpdir(), 'understudy-resume-test-'));
    privateTmp = mkdtempSync(join(tmpdir(), 'understudy-resume-tmp-'));
    host = demoHostCopy(tree, join(work, 'host-r'), 'host-r', identity);
    store = join(work, 'store');
  });
  after(() => {
    for (const d of [work, privateTmp]) if (d) rmSync(d, { recursive: true, force: true });
  });

  const env = () => ({ TMPDIR: privateTmp });
  const sandboxLeftovers = () => readdirSync(privateTmp).filter((n) => n.startsWith('understudy-'));

  it('killed in booting, checking and capturing2 (then a machine restart): resume finishes it each time; nothing is left', async () => {
    const started = Date.now();
    const reader = new RunStore(store);
    const sleeper = spawn('sleep', ['3600'], { stdio: 'ignore' });
    try {
      /** Starts the verb, waits until the run is in `stage` (and `also` holds), kills it with SIGKILL. */
      const killIn = async (args: string[], stage: string, also: () => boolean = () => true) => {
        const p = spawnCli(args, env());
        let run = '';
        await until(`a run in ${stage}`, () => {
          run ||= reader.list()[0]?.id ?? '';
          return run !== '' && reader.get(run)?.state === stage && also();
        });
        p.child.kill('SIGKILL');
        const r = await p.done;
        assert.equal(r.code, null, 'killed');
        // QEMU dies with its parent (parent-death signal): no VM outlives the killed attempt
        await until('its QEMU to die', () => qemuProcessesMentioning(privateTmp).length === 0, 15_000);
        const listed = await cliJson(['runs', '--store', store]);
        assert.equal(listed.result.runs.find((x: { id: string }) => x.id === run)?.interrupted, true, `runs shows the run interrupted in ${stage}`);
        return run;
      };
      const upgrade = ['upgrade', `dir:${host}`, '--run', RUN, '--check', CHECK, '--yes', '--store', store];
      // inside booting, once its QEMU runs
      const run = await killIn(upgrade, 'booting', () => qemuProcessesMentioning(privateTmp).length > 0);
      const resume = ['resume', run, '--yes', '--store', store];
      // the next attempt rewinds to booting, gets through upgrading, and is killed inside checking
      await killIn(resume, 'checking', () => reader.timings(run).some((t) => t.stage === 'upgrading' && t.seconds !== undefined));
      // and then inside capturing2
      await killIn(resume, 'capturing2');

      // a simulated restart of the machine: every VM gone (above), the killed process's pid now belongs to
      // another process (the run's owner and the target's orchestrator.lock name it), and its leftovers stay
      const dead = reader.get(run)!;
      reader.db.prepare('UPDATE runs SET owner_pid = ? WHERE id = ?').run(sleeper.pid, run);
      const lockDir = join(dirname(host), `.understudy-${basename(host)}`);
      mkdirSync(lockDir, { recursive: true });
      writeFileSync(join(lockDir, 'orchestrator.lock'), `${sleeper.pid} ${dead.ownerToken}\n`);
      const halfBuilt = join(imageCacheRoot(), `.sandbox-resume-test-${process.pid}`);
      mkdirSync(halfBuilt, { recursive: true });
      writeFileSync(join(halfBuilt, '.understudy-owner'), `${sleeper.pid} ${dead.ownerToken}\n`);
      assert.ok(sandboxLeftovers().some((n) => n.startsWith('understudy-sandbox-')), 'the killed sandbox\'s overlay is still there');
      assert.ok(sandboxLeftovers().some((n) => n.startsWith('understudy-qemu-')), 'and its QEMU dir');
      const listed = await cliJson(['runs', '--store', store]);
      assert.equal(listed.result.runs[0].interrupted, true, `runs shows it interrupted although pid ${sleeper.pid} lives`);
      assert.equal(existsSync(halfBuilt), false, 'the next start removed the dead build');

      const last = await cliJson(resume, env(), { deadlineMs: 20 * 60_000 });
      console.log(`kill in booting, checking, capturing2, then resume: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      assert.equal(last.timedOut, false);
      assert.equal(last.code, 0, last.stderr);
      assert.equal(last.result.outcome, 'upgraded');
      assert.deepEqual(last.result.resumes.map((n: { from: string; to: string }) => `${n.from}->${n.to}`),
        ['booting->booting', 'checking->booting', 'capturing2->booting']);
      assert.equal(last.result.cleanupError, undefined);
      assert.equal(readFileSync(join(host, 'etc/bar-result'), 'utf8'), identity + '\n');
      assert.deepEqual(await treeVersusMap(host, store, last.result.map2, join(work, 'scratch')), { added: [], changed: [], removed: [] },
        'the host is exactly the map2 it swapped in');
      assert.deepEqual(qemuProcessesMentioning(privateTmp), [], 'no VM left');
      assert.deepEqual(sandboxLeftovers(), [], 'no overlay or temp dir left');
      assert.equal(existsSync(join(lockDir, 'orchestrator.lock')), false, 'the stale lock was taken over and released');

      const shown = await cliJson(['show', run, '--store', store]);
      const attempts = (stage: string) => shown.result.stages.filter((s: { stage: string }) => s.stage === stage)
        .map((s: { attempt: number; state: string; interrupted?: boolean }) => `${s.attempt}:${s.interrupted ? 'interrupted' : s.state}`);
      assert.deepEqual(attempts('booting'), ['1:interrupted', '2:done', '3:done', '4:done']);
      assert.deepEqual(attempts('checking'), ['1:interrupted', '2:done', '3:done']);
      assert.deepEqual(attempts('capturing2'), ['1:interrupted', '2:done']);
      const text = await new Promise<string>((resolve) => {
        const c = spawn(process.execPath, [new URL('../../bin/understudy.mjs', import.meta.url).pathname, 'show', run, '--store', store]);
        let out = '';
        c.stdout.on('data', (d) => { out += d; });
        c.on('exit', () => resolve(out));
      });
      assert.match(text, /resumed: rewound from checking to booting \(sandbox gone\)/);
      assert.match(text, /resumed: rewound from capturing2 to booting \(sandbox gone\)/);
    } finally {
      sleeper.kill('SIGKILL');
      reader.close();
    }
  });
});
