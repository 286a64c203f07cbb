// A batch of four dir: hosts through real runs (fake stage services, real SQLite): canary and max-fail
// semantics with one host's check failing, shared rehearsals for identical map1, fleet file parsing.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore } from '../../../main/app/run-store/run-store.ts';
import { runBatch } from '../../../main/app/runs/batch-runner.ts';
import { parseFleet, type FleetHost } from '../../../main/app/runs/fleet-file.ts';
import { fakeStageServices, type FakeOptions } from '../../../main/adapters/fake/fake-stage-services.ts';
import { isUnderstudyError, UnderstudyError } from '../../../main/core/domain/errors.ts';
import type { BatchOptions } from '../../../main/core/workflow/batch-plan.ts';

const fleetYaml = `
plan:
  run: apt-get install -y hello-service=2.0
  checks: ["test -x /usr/bin/hello-service"]
  health: ["true"]
hosts:
  - target: dir:/srv/h1
  - target: dir:/srv/h2
  - target: dir:/srv/h3
    checks: ["false"]
  - target: dir:/srv/h4
`;

describe('batch runner', () => {
  let dir: string;
  let store: RunStore;
  const hosts: FleetHost[] = parseFleet(fleetYaml);
  before(() => { dir = mkdtempSync(join(tmpdir(), 'understudy-batch-')); store = new RunStore(dir); });
  after(() => { store.close(); rmSync(dir, { recursive: true, force: true }); });

  const batch = (options: BatchOptions, fake: FakeOptions = {}) => {
    const services = fakeStageServices(fake);
    return { services, run: runBatch({ store, hosts, options, kind: 'upgrade', yes: true, services: () => services }) };
  };

  it('parses the fleet file with per-host overrides', () => {
    assert.deepEqual(hosts.map((h) => [h.target, h.checks]), [
      ['dir:/srv/h1', ['test -x /usr/bin/hello-service']], ['dir:/srv/h2', ['test -x /usr/bin/hello-service']],
      ['dir:/srv/h3', ['false']], ['dir:/srv/h4', ['test -x /usr/bin/hello-service']]]);
    assert.equal(hosts[0]!.command, 'apt-get install -y hello-service=2.0');
  });

  it('max-fail 0: h3 fails its check, h4 is never started, the rest are upgraded', async () => {
    const { run, services } = batch({ canary: 1, parallel: 1, maxFail: { count: 0 } });
    const r = await run;
    assert.deepEqual(r.hosts.map((h) => [h.target, h.outcome]), [
      ['dir:/srv/h1', 'upgraded'], ['dir:/srv/h2', 'upgraded'], ['dir:/srv/h3', 'check-failed'], ['dir:/srv/h4', 'skipped']]);
    assert.equal(r.ok, false);
    assert.match(r.stopped ?? '', /more than --max-fail allows \(0\)/);
    assert.equal(services.count('swap'), 2);
    // every started host is an ordinary recorded run
    for (const h of r.hosts.filter((x) => x.run)) assert.equal(store.get(h.run!)?.outcome, h.outcome);
  });

  it('max-fail 1: the fleet finishes with one failure', async () => {
    const r = await batch({ canary: 1, parallel: 2, maxFail: { count: 1 } }).run;
    assert.deepEqual(r.hosts.map((h) => h.outcome), ['upgraded', 'upgraded', 'check-failed', 'upgraded']);
    assert.deepEqual([r.ok, r.failed, r.passed, r.stopped], [false, 1, 3, undefined]);
  });

  it('a failing canary stops everything', async () => {
    const canaryFirst = [hosts[2]!, hosts[0]!, hosts[1]!, hosts[3]!];
    const services = fakeStageServices();
    const r = await runBatch({ store, hosts: canaryFirst, options: { canary: 1, parallel: 4, maxFail: { count: 5 } }, kind: 'upgrade', yes: true, services: () => services });
    assert.deepEqual(r.hosts.map((h) => h.outcome), ['check-failed', 'skipped', 'skipped', 'skipped']);
    assert.equal(services.count('swap'), 0);
  });

  it('hosts with identical map1 share one rehearsal (one sandbox boot per map1 and plan)', async () => {
    // h1, h2, h4 share map1 and plan; h3 has its own plan (checks): 2 rehearsals, 2 boots
    const { run, services } = batch({ canary: 0, parallel: 4, maxFail: { count: 4 } });
    const r = await run;
    assert.equal(r.rehearsals, 2);
    assert.equal(services.count('bootSandbox'), 2);
    assert.equal(services.count('captureHost'), 4);
    assert.equal(services.count('swap'), 3);
    assert.deepEqual(r.hosts.map((h) => h.result?.map2), ['b'.repeat(64), 'b'.repeat(64), undefined, 'b'.repeat(64)]);
  });

  it('different map1s rehearse separately', async () => {
    const services = fakeStageServices({ map1For: (t) => (t.endsWith('h1') ? 'c' : 'd').repeat(64) });
    const r = await runBatch({ store, hosts: [hosts[0]!, hosts[1]!, hosts[3]!], options: { canary: 0, parallel: 3, maxFail: { count: 0 } }, kind: 'rehearse', yes: false, services: () => services });
    assert.equal(r.ok, true);
    assert.equal(services.count('bootSandbox'), 2);
  });

  it('a batch upgrade without --yes is refused; bad fleet files are usage errors', async () => {
    const usage = (re: RegExp) => (e: unknown) => isUnderstudyError(e) && e.code === 'usage' && re.test(e.message);
    await assert.rejects(runBatch({ store, hosts, options: { canary: 1, parallel: 1, maxFail: { count: 0 } }, kind: 'upgrade', yes: false, services: () => fakeStageServices() }), usage(/needs --yes/));
    assert.throws(() => parseFleet('plan: {}\nhosts: []'), usage(/plan\.run/));
    assert.throws(() => parseFleet('plan: {run: x}\nhosts: []'), usage(/hosts/));
    assert.throws(() => parseFleet('plan: {run: x}\nhosts: [{target: a, cheks: []}]'), usage(/hosts\.0/));
    assert.throws(() => parseFleet(': : :'), usage(/not valid YAML/));
  });

  it('a host whose hypervisor was lost is queued once more, away from that member; the report keeps both', async () => {
    const services = fakeStageServices();
    const placedWith: unknown[] = [];
    let lost = 0;
    const withPool = (input: { options: Record<string, unknown> }): typeof services => ({
      ...services,
      placeSandbox: async () => {
        placedWith.push(input.options.avoidMembers);
        return { placement: { member: input.options.avoidMembers ? 'm2' : 'm1', waitedSeconds: 0 } };
      },
      runUpgrade: async (a, io) => {
        if (lost++ === 0) throw new UnderstudyError('hypervisor-lost', 'pool member m1 was lost during the upgrade: connection lost');
        return services.runUpgrade(a, io);
      },
    });
    const requeues: string[] = [];
    const r = await runBatch({
      store, hosts: [hosts[0]!], options: { canary: 0, parallel: 1, maxFail: { count: 0 } }, kind: 'rehearse', yes: false,
      services: withPool, onRequeue: (_id, target, why) => requeues.push(`${target}: ${why}`),
    });
    assert.equal(r.ok, true);
    assert.deepEqual(r.hosts.map((h) => [h.outcome, h.member]), [['rehearsed', 'm2']]);
    assert.deepEqual(placedWith, [undefined, ['m1']], 'the retry keeps away from the member that was lost');
    assert.equal(r.hosts[0]!.requeued?.length, 1);
    assert.equal(r.hosts[0]!.requeued![0]!.member, 'm1');
    assert.match(requeues[0]!, /dir:\/srv\/h1: pool member m1 was lost/);
    assert.notEqual(r.hosts[0]!.requeued![0]!.run, r.hosts[0]!.run, 'a new run for the retry');
  });

  it('a member lost during the reboot rehearsal: the host and the one that shared its rehearsal are queued once more, the batch completes', async () => {
    const services = fakeStageServices({ delta: { added: [], changed: ['boot/vmlinuz-6.12.9-amd64'], removed: [] } });
    const members: string[] = [];
    const onPool = (input: { options: Record<string, unknown> }): typeof services => {
      const member = (input.options.avoidMembers as string[] | undefined)?.includes('m1') ? 'm2' : 'm1';
      return {
        ...services,
        placeSandbox: async () => { members.push(member); return { placement: { member, waitedSeconds: 0 } }; },
        rehearseReboot: async (a, io) => {
          if (member === 'm1') throw new UnderstudyError('hypervisor-lost', 'pool member m1 was lost during the reboot rehearsal: the connection closed');
          return services.rehearseReboot(a, io);
        },
      };
    };
    const two = [hosts[0]!, { ...hosts[0]!, target: 'dir:/srv/h1-clone' }]; // same plan and map1: one rehearsal
    const r = await runBatch({ store, hosts: two, options: { canary: 0, parallel: 2, maxFail: { count: 0 } }, kind: 'rehearse', yes: false, services: onPool });
    assert.equal(r.ok, true, JSON.stringify(r.hosts.map((h) => [h.outcome, h.result?.error])));
    assert.deepEqual(members, ['m1', 'm2'], 'one rehearsal lost on m1, one more on m2, followed by the other host both times');
    assert.deepEqual(r.hosts.map((h) => [h.outcome, h.member, h.requeued?.map((a) => a.member)]), [['rehearsed', 'm2', ['m1']], ['rehearsed', 'm2', ['m1']]]);
    assert.equal(r.rehearsals, 2);
  });

  it('a second loss fails the host: at most once more', async () => {
    const services = fakeStageServices({ failAt: 'runUpgrade', failCode: 'hypervisor-lost' });
    const r = await runBatch({ store, hosts: [hosts[1]!], options: { canary: 0, parallel: 1, maxFail: { count: 0 } }, kind: 'rehearse', yes: false, services: () => services });
    assert.deepEqual(r.hosts.map((h) => [h.outcome, h.requeued?.length]), [['failed', 1]]);
    assert.equal(services.count('runUpgrade'), 2);
  });

  it('with pool slots beyond --parallel, rehearsals run side by side while swaps go --parallel at a time', async () => {
    const services = fakeStageServices({ map1For: (t) => t.slice(-1).repeat(64), delayMs: { runUpgrade: 150, swap: 150 } });
    let upgrading = 0, maxUpgrading = 0, swapping = 0, maxSwapping = 0;
    const counted = (): typeof services => ({
      ...services,
      runUpgrade: async (a, io) => { maxUpgrading = Math.max(maxUpgrading, ++upgrading); try { return await services.runUpgrade(a, io); } finally { upgrading--; } },
      swap: async (a, io) => { maxSwapping = Math.max(maxSwapping, ++swapping); try { return await services.swap(a, io); } finally { swapping--; } },
    });
    const four = [hosts[0]!, hosts[1]!, hosts[3]!, { ...hosts[0]!, target: 'dir:/srv/h5' }];
    const r = await runBatch({ store, hosts: four, options: { canary: 0, parallel: 1, maxFail: { count: 0 } }, kind: 'upgrade', yes: true,
      services: counted, sandboxSlots: () => 4 });
    assert.equal(r.ok, true);
    assert.ok(maxUpgrading >= 2, `rehearsals side by side (${maxUpgrading})`);
    assert.equal(maxSwapping, 1, 'one swap at a time (--parallel 1)');
  });
});
