// The `local` target for real, without touching this machine: swap, rollback, recover, assess and the
// restart decisions run as root against `/` inside a private mount namespace whose `/` is an overlay
// (upper layer on a tmpfs) chrooted into, so HOST_WORK, the agent's boot unit in /etc/systemd/system and
// the delta's directory (/understudy-local-test) all land in the throw-away layer. map1/map2 are real
// captures of dir: trees laid out relative to / (the delta touches only /understudy-local-test).
// This file is also the driver run inside the namespace (UNDERSTUDY_LOCAL_TEST_DRIVER set).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTree1, snapshot, upgradeTree } from '../unit/swap/helpers/tree.ts';
import { isUnderstudyError } from '../../main/core/domain/errors.ts';

const SCRATCH = 'understudy-local-test';
const REPO = new URL('../..', import.meta.url).pathname;

if (process.env.UNDERSTUDY_LOCAL_TEST_DRIVER) await driver(JSON.parse(process.env.UNDERSTUDY_LOCAL_TEST_DRIVER) as DriverArgs);
else tests();

interface DriverArgs { store: string; map1: string; map2: string }

/** Inside the namespace, as root: the library seam, then the CLI verbs, each step's result as JSON. */
async function driver(a: DriverArgs): Promise<void> {
  const { openSwapHost } = await import('../../main/adapters/swap/open-host.ts');
  const { swap } = await import('../../main/adapters/swap/swap.ts');
  const { loadMap } = await import('../../main/adapters/store/map-store.ts');
  const { restartAfterSwap } = await import('../../main/app/stage-services/restart.ts');
  const out: Record<string, unknown> = {};
  const tree = () => [...snapshot(`/${SCRATCH}`)];
  const unit = '/etc/systemd/system/understudy-recover.service';
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(REPO, 'bin/understudy.mjs'), ...args, '--store', a.store, '--json'], { encoding: 'utf8' });
    return { code: r.status, result: JSON.parse(r.stdout.trim().split('\n').at(-1) ?? 'null') as Record<string, unknown> };
  };
  const [m1, m2] = [await loadMap(a.store, a.map1), await loadMap(a.store, a.map2)];

  const host = await openSwapHost('local');
  try {
    out.host = { kind: host.kind, target: host.target, root: host.root, work: host.work };
    const r = await swap({ host, store: a.store, map1: m1, map2: m2 });
    out.swap = { outcome: r.outcome, files: r.files, steps: r.agentSteps, seconds: r.seconds, windowSeconds: r.windowSeconds };
    out.afterSwap = tree();
    out.health = (await host.health([`test -f /${SCRATCH}/usr/lib/newpkg/deep/file`, 'echo no >&2; exit 4'])).map((h) => [h.ok, h.exitCode, h.output]);
  } finally { await host.close(); }

  out.rollback = cli('rollback', 'local', '--yes');
  out.afterRollback = tree();

  // the agent dies in the middle of the next swap: the boot unit is in place and assess sees the journal
  const again = await openSwapHost('local');
  try {
    const killAt = String(Math.ceil(((out.swap as { steps?: number }).steps ?? 20) / 2));
    await swap({ host: again, store: a.store, map1: m1, map2: m2, agentEnv: { UNDERSTUDY_AGENT_KILL_AT: killAt } })
      .then(() => { out.killedSwap = 'finished'; }, (e: unknown) => { out.killedSwap = isUnderstudyError(e) ? e.code : String(e); });
  } finally { await again.close(); }
  out.unitAfterKill = existsSync(unit);
  out.assessDirty = cli('assess', 'local');
  out.recover = cli('recover', 'local');
  out.unitAfterRecover = existsSync(unit);
  out.afterRecover = tree();
  out.assessClean = cli('assess', 'local');

  // restart decisions, with a systemd that only records what it is asked (this layer's /run and PATH)
  mkdirSync('/run/systemd/system', { recursive: true });
  writeFileSync('/usr/local/sbin/systemctl', '#!/bin/sh\necho "$*" >> /run/systemctl.calls\n');
  chmodSync('/usr/local/sbin/systemctl', 0o755);
  const logs: string[] = [];
  const io = { signal: new AbortController().signal, log: (_s: string, _src: string, text: string) => logs.push(text), progress: () => undefined };
  out.restart = await restartAfterSwap('local', 'auto', { added: [], changed: ['boot/vmlinuz-6.1.0-99-amd64', 'usr/lib/systemd/system/hello.service'], removed: [] },
    io as unknown as Parameters<typeof restartAfterSwap>[3]);
  out.restartLogs = logs;
  out.systemctlCalls = readFileSync('/run/systemctl.calls', 'utf8').trim().split('\n');
  process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
}

/** What this test could disturb on the real machine, read before and after. */
function realState() {
  const opt = (p: string) => (existsSync(p) ? [...snapshot(p)] : null);
  return { rootEntries: readdirSync('/').sort(), rootMtime: lstatSync('/', { bigint: true }).mtimeNs, work: opt('/var/lib/understudy'),
    systemd: opt('/etc/systemd/system'), scratch: existsSync(`/${SCRATCH}`) };
}

function namespaceProblem(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  const d = mkdtempSync(join(tmpdir(), 'understudy-ns-probe-'));
  try {
    const probe = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-ec',
      'mount -t tmpfs tmpfs "$0"; mkdir "$0/u" "$0/w" "$0/r"; mount -t overlay overlay -o lowerdir=/,upperdir="$0/u",workdir="$0/w" "$0/r"', d], { encoding: 'utf8' });
    return probe.status === 0 ? undefined : `a private mount namespace with an overlay of / is not permitted here: ${probe.stderr.trim()}`;
  } finally { rmSync(d, { recursive: true, force: true }); }
}

function tests(): void {
  describe('local target', () => {
    it('refuses a non-root user with a clear bad-target error', async () => {
      const { openSwapHost } = await import('../../main/adapters/swap/open-host.ts');
      const real = process.getuid;
      process.getuid = () => 1000;
      try {
        await assert.rejects(openSwapHost('local'), (e) => isUnderstudyError(e) && e.code === 'bad-target' && /needs root/.test(e.message) && /sudo/.test(e.message));
      } finally { process.getuid = real; }
    });

    it('knows the systemd unit it runs in (never try-restarted under its own feet)', async () => {
      const { unitOfCgroup } = await import('../../main/app/stage-services/restart.ts');
      assert.equal(unitOfCgroup('0::/system.slice/understudy-serve.service\n'), 'understudy-serve.service');
      assert.equal(unitOfCgroup('12:pids:/system.slice/a.service\n1:name=systemd:/system.slice/b.service\n'), 'b.service');
      assert.equal(unitOfCgroup('0::/user.slice/user-0.slice/session-3.scope\n'), undefined);
      assert.equal(unitOfCgroup('9:name=systemd:/\n8:pids:/\n'), undefined);
    });

    const problem = namespaceProblem();
    describe('in a private mount namespace over an overlay of /', { skip: problem }, () => {
      let base: string;
      let run: Record<string, unknown>;
      let t1: Map<string, string>, t2: Map<string, string>;
      let real: ReturnType<typeof realState>;

      before(async () => {
        const { capture } = await import('../../main/adapters/capture/capture.ts');
        base = mkdtempSync(join(tmpdir(), 'understudy-local-'));
        const store = join(base, 'store');
        const [d1, d2] = [join(base, 't1'), join(base, 't2')];
        buildTree1(join(d1, SCRATCH));
        execFileSync('cp', ['-a', d1, d2]);
        upgradeTree(join(d2, SCRATCH));
        t1 = snapshot(join(d1, SCRATCH)); t2 = snapshot(join(d2, SCRATCH));
        const map1 = (await capture({ store, target: `dir:${d1}` })).map;
        const map2 = (await capture({ store, target: `dir:${d2}` })).map;
        real = realState();
        const ns = join(base, 'ns');
        mkdirSync(ns);
        const args = JSON.stringify({ store, map1, map2 } satisfies DriverArgs);
        const setup = `set -e
          mount -t tmpfs tmpfs "$NS"; mkdir "$NS/upper" "$NS/work" "$NS/root"
          mount -t overlay overlay -o lowerdir=/,upperdir="$NS/upper",workdir="$NS/work" "$NS/root"
          mount --rbind /proc "$NS/root/proc"; mount --rbind /dev "$NS/root/dev"; mount -t tmpfs tmpfs "$NS/root/run"
          cp -a "$T1/${SCRATCH}" "$NS/root/${SCRATCH}"
          exec chroot "$NS/root" /bin/sh -c 'cd "$0" && exec "$1" --import tsx "$2"' "$REPO" "$NODE" "$REPO/test/integration/local-target.test.ts"`;
        const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', setup], {
          encoding: 'utf8', timeout: 10 * 60_000,
          env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', NS: ns, T1: d1, REPO, NODE: process.execPath,
            UNDERSTUDY_LOCAL_TEST_DRIVER: args },
        });
        const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
        assert.ok(line, `the driver finished (exit ${r.status}): ${r.stderr.slice(-3000)}`);
        run = JSON.parse(line.slice(7)) as Record<string, unknown>;
      });
      after(() => { if (base) rmSync(base, { recursive: true, force: true }); });

      it('swaps the delta onto / (map2 exactly: content, metadata, links, xattrs) through the agent', (t) => {
        assert.deepEqual(run.host, { kind: 'local', target: 'local', root: '/', work: '/var/lib/understudy' });
        const s = run.swap as { outcome: string; files: number; seconds: number; windowSeconds: number };
        const rb = (run.rollback as { result: { seconds: number; windowSeconds: number } }).result;
        t.diagnostic(`local swap: ${s.files} paths in ${s.seconds.toFixed(2)} s (window ${s.windowSeconds.toFixed(3)} s); `
          + `rollback ${rb.seconds.toFixed(2)} s (window ${rb.windowSeconds.toFixed(3)} s)`);
        assert.equal(s.outcome, 'committed');
        assert.ok(s.files > 10, `${s.files} paths changed`);
        assert.notDeepEqual(t1, t2);
        assert.deepEqual(new Map(run.afterSwap as Array<[string, string]>), t2);
        assert.deepEqual(run.health, [[true, 0, ''], [false, 4, 'no\n']]);
      });

      it('`understudy rollback local` puts map1 back exactly', () => {
        const rb = run.rollback as { code: number; result: { restoredMap: string; files: number } };
        assert.equal(rb.code, 0, JSON.stringify(rb.result));
        assert.ok(rb.result.files > 10);
        assert.deepEqual(new Map(run.afterRollback as Array<[string, string]>), t1);
      });

      it('an agent killed mid-swap leaves its boot unit and a dirty journal; `recover local` undoes it; assess agrees', () => {
        assert.equal(run.killedSwap, 'needs-recovery');
        assert.equal(run.unitAfterKill, true, 'the boot unit would finish the job after a crash');
        const journal = (which: string) => ((run[which] as { result: { items: Array<{ name: string; verdict: string; detail: string }> } })
          .result.items.find((i) => i.name === 'host journal clean'));
        assert.equal(journal('assessDirty')?.verdict, 'fail');
        assert.match(journal('assessDirty')!.detail, /interrupted transaction.*\(planned\).*understudy recover/);
        const rec = run.recover as { code: number; result: { recovered: Array<{ result: string }> } };
        assert.equal(rec.code, 0, JSON.stringify(rec.result));
        assert.deepEqual(rec.result.recovered.map((x) => x.result), ['rolled-back']);
        assert.equal(run.unitAfterRecover, false, 'the boot unit is gone with the transaction');
        assert.deepEqual(new Map(run.afterRecover as Array<[string, string]>), t1);
        assert.equal(journal('assessClean')?.verdict, 'ok');
      });

      it('restart: daemon-reload and try-restart as on ssh://, but no reboot of the machine itself; the operator is told', () => {
        assert.deepEqual(run.restart, { restarted: ['hello.service'], rebooted: false });
        const calls = run.systemctlCalls as string[];
        assert.equal(calls[0], 'daemon-reload');
        assert.ok(calls.includes('try-restart hello.service'));
        assert.ok(!calls.some((c) => /reboot|poweroff|kexec/.test(c)), calls.join('; '));
        assert.ok((run.restartLogs as string[]).some((l) => /reboot it yourself/i.test(l) && l.includes('boot/vmlinuz-6.1.0-99-amd64')));
      });

      it('left nothing changed outside the namespace', () => {
        assert.deepEqual(realState(), real);
        assert.equal(existsSync(`/${SCRATCH}`), false);
      });
    });
  });
}
