// Resume after the orchestrator was killed with SIGKILL in each stage: a real child process, a real
// SQLite run store, fake stage services that log their calls to a file. The resumed run re-enters the
// interrupted stage (it runs twice), or rewinds to booting from a sandbox stage (booting .. that stage run
// twice); it does not repeat the stages before, keeps both attempts' times and finishes upgraded.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore } from '../../../main/app/run-store/run-store.ts';

const child = join(import.meta.dirname, 'fixtures', 'run-child.ts');

function spawnChild(args: string[]): { proc: ChildProcess; lines: string[]; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) { lines.push(buf.slice(0, i)); buf = buf.slice(i + 1); }
  });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { proc, lines, exited };
}

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const starts = (log: string, name: string) =>
  (existsSync(log) ? readFileSync(log, 'utf8') : '').split('\n').filter((l) => l === `start ${name}`).length;

const cases: Array<[string, string]> = [
  ['preflight', 'preflight'], ['captureHost', 'capturing'], ['buildImage', 'building'], ['bootSandbox', 'booting'],
  ['runUpgrade', 'upgrading'], ['runChecks', 'checking'], ['captureSandbox', 'capturing2'], ['releaseSandbox', 'releasing'],
  ['findConflicts', 'reconciling'], ['swap', 'swapping'], ['restart', 'restarting'], ['checkHealth', 'health'],
];
const order = cases.map(([s]) => s);

describe('resume after kill -9', () => {
  let dir: string;
  const procs: ChildProcess[] = [];
  before(() => { dir = mkdtempSync(join(tmpdir(), 'understudy-resume-')); });
  after(() => { for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); });

  // A sandbox stage's sandbox died with the process: the run rewinds to booting (a new sandbox) and runs
  // the stages from there again; any other stage is re-entered.
  const SANDBOX = ['bootSandbox', 'runUpgrade', 'runChecks', 'captureSandbox'];
  for (const [service, stage] of cases) {
    const rewinds = SANDBOX.includes(service);
    const resumedAt = rewinds ? 'booting' : stage;
    const again = rewinds ? order.slice(order.indexOf('bootSandbox'), order.indexOf(service) + 1) : [service];
    it(`killed in ${stage}: resume ${rewinds ? 'rewinds to booting' : `re-enters ${stage}`} and finishes upgraded`, async () => {
      const store = join(dir, service);
      const log = join(dir, `${service}.calls`);
      const first = spawnChild([store, log, 'start', service]);
      procs.push(first.proc);
      await until(`${service} to start`, () => starts(log, service) === 1);
      const reader = new RunStore(store);
      try {
        await until(`state ${stage} persisted`, () => reader.get(`run-${service}`)?.state === stage);
        first.proc.kill('SIGKILL');
        await first.exited;
        assert.equal(reader.get(`run-${service}`)?.outcome, undefined);

        const second = spawnChild([store, log, 'resume', `run-${service}`]);
        procs.push(second.proc);
        assert.equal(await second.exited, 0);
        assert.deepEqual(JSON.parse(second.lines[0]!), { runId: `run-${service}`, state: resumedAt });
        assert.deepEqual(JSON.parse(second.lines[1]!), { outcome: 'upgraded', exitCode: 0 });
        for (const s of order) assert.equal(starts(log, s), again.includes(s) ? 2 : 1, `${s} ran ${again.includes(s) ? 'again' : 'once'}`);
        const rec = reader.get(`run-${service}`)!;
        assert.equal(rec.outcome, 'upgraded');
        assert.equal(rec.state, 'done');
        assert.equal((rec.result as { map2?: string }).map2, 'b'.repeat(64));
        const said = rewinds && stage !== 'booting' ? `resumed: rewound from ${stage} to booting (sandbox gone)`
          : rewinds ? 'resumed at booting (sandbox gone)' : `resumed at ${stage}`;
        assert.ok(reader.events(rec.id).some((e) => e.event.type === 'log' && e.event.text === said), said);
        assert.deepEqual((rec.result as { resumes?: Array<{ from: string; to: string }> }).resumes?.map((n) => [n.from, n.to]), [[stage, resumedAt]]);
        // both attempts' times are kept: the killed one started and never ended
        const attempts = reader.timings(rec.id).filter((t) => t.stage === stage).map((t) => [t.attempt, t.seconds !== undefined]);
        assert.deepEqual(attempts, [[1, false], [2, true]]);
      } finally { reader.close(); }
    });
  }

  it('killed while waiting for approval: resume waits in review again, APPROVE finishes the run', async () => {
    const store = join(dir, 'review');
    const log = join(dir, 'review.calls');
    const first = spawnChild([store, log, 'start', 'none', '--interactive']);
    procs.push(first.proc);
    const reader = new RunStore(store);
    try {
      await until('review', () => reader.get('run-none')?.state === 'review');
      first.proc.kill('SIGKILL');
      await first.exited;
      const second = spawnChild([store, log, 'resume', 'run-none', '--approve']);
      procs.push(second.proc);
      assert.equal(await second.exited, 0);
      assert.deepEqual(JSON.parse(second.lines[0]!), { runId: 'run-none', state: 'review' });
      assert.deepEqual(JSON.parse(second.lines[1]!), { outcome: 'upgraded', exitCode: 0 });
      assert.equal(starts(log, 'swap'), 1);
      assert.equal(starts(log, 'captureHost'), 1);
    } finally { reader.close(); }
  });
});
