// Registers the VM fault campaign with these counts: the CI-bounded run (test/integration/faults-vm.test.ts)
// and the long one (test/faults/) differ only in them. Overrides for a run by hand:
//   UNDERSTUDY_VM_FAULTS=agent=20,orchestrator=12,power=6   UNDERSTUDY_FAULT_SEED=1234 (replays a campaign)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { agentKill, backToMap1, calibrate, newCampaign, nextOp, readyFor, orchestratorKill, powerCut, seeded, type Campaign, type Op } from './vm-campaign.ts';
import { differences, disposeVmWorld, makeVmWorld, recapture, type VmWorld } from './vm-world.ts';

export interface VmFaultCounts { agent: number; orchestrator: number; power: number }
/** recapture: end with a full re-capture of the host compared with map1/map2 (minutes under TCG: long run only). */
export interface VmFaultOptions extends VmFaultCounts { recapture: boolean }

function counts(defaults: VmFaultOptions): VmFaultOptions {
  const n = { ...defaults };
  for (const part of (process.env.UNDERSTUDY_VM_FAULTS ?? '').split(',').filter(Boolean)) {
    const [k, v] = part.split('=');
    assert.ok(k! in n && k !== 'recapture' && /^\d+$/.test(v ?? ''), `UNDERSTUDY_VM_FAULTS: '${part}' is not agent|orchestrator|power=N`);
    n[k as keyof VmFaultCounts] = Number(v);
  }
  return n;
}

const log = (s: string) => console.log(`# ${s}`);

/**
 * The campaign's tests inside the caller's describe, on the world its before() made (world() is read
 * then). endAtMap1: the last test also takes the host back to map1, for the caller's later tests.
 */
export function vmFaultTests(defaults: VmFaultOptions, world: () => VmWorld, o: { endAtMap1?: boolean } = {}): void {
  const n = counts(defaults);
  const seed = Number(process.env.UNDERSTUDY_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
  describe(`VM fault campaign (seed ${seed}: UNDERSTUDY_FAULT_SEED=${seed} replays it)`, () => {
    let c: Campaign | undefined;
    let started = 0;
    // the host is ready for one op at a time (a swap from map1, a rollback from map2): each fault runs the
    // op its predecessor's random outcome left the host ready for, so no clean swap is paid in between —
    // except the last of a kind, which takes the other op if all before it took the same one
    const repeat = async (k: number, f: (c: Campaign, op: Op) => Promise<unknown>) => {
      const used = new Set<Op>();
      for (let i = 0; i < k; i++) {
        let op = nextOp(c!);
        if (i === k - 1 && used.size === 1 && used.has(op)) { op = op === 'swap' ? 'rollback' : 'swap'; await readyFor(c!, op); }
        used.add(op);
        await f(c!, op);
      }
    };

    before(async () => {
      started = performance.now();
      log(`seed ${seed}; faults ${JSON.stringify(n)}`);
      c = newCampaign(world(), seeded(seed));
      await calibrate(c);
      log(`calibration (a clean swap and rollback): ${((performance.now() - started) / 1000).toFixed(1)} s; agent steps ${JSON.stringify(c.steps)} (before the window ${JSON.stringify(c.prepSteps)}); `
        + `ms ${JSON.stringify(c.childMs, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}; ${c.paths.length} paths compared`);
    });

    after(() => {
      if (!c) return;
      log(`VM fault tally ${JSON.stringify(c.tally)}`);
      log(`VM fault seconds ${JSON.stringify(Object.fromEntries(Object.entries(c.seconds).map(([k, v]) => [k, +v.toFixed(1)])))}`);
      log(`VM fault campaign (after boot and map1): ${((performance.now() - started) / 1000).toFixed(1)} s`);
    });

    test(`agent kill -9 at ${n.agent} random steps of swaps and rollbacks -> recover -> exactly map1 or map2`, async () => {
      await repeat(n.agent, agentKill);
    });
    test(`orchestrator kill -9 at ${n.orchestrator} random moments of swaps and rollbacks -> recover -> exactly map1 or map2`, async () => {
      await repeat(n.orchestrator, orchestratorKill);
    });
    test(`power cut (QMP quit) at ${n.power} random agent steps, same disk booted again -> boot unit + recover -> exactly map1 or map2`, async () => {
      await repeat(n.power, powerCut);
    });
    test(`every fault counted${n.recapture ? '; a full re-capture of the host afterwards is exactly map1 or map2' : ''}`, async () => {
      if (n.recapture) {
        const now = (await recapture(c!.w)).manifest;
        assert.deepEqual(differences(now, (c!.state === 'old' ? c!.w.map1 : c!.w.map2).manifest), [], `the host is ${c!.state}`);
      }
      const faults = Object.entries(c!.tally).filter(([k]) => k.includes(' -> ')).reduce((a, [, v]) => a + v, 0);
      assert.equal(faults, n.agent + n.orchestrator + n.power, 'every fault was counted');
      if (o.endAtMap1) await backToMap1(c!);
    });
  });
}

/** The campaign on a VM of its own: one boot and one capture for the whole suite. */
export function vmFaultSuite(defaults: VmFaultOptions): void {
  describe('the demo host VM under fault injection', { timeout: 120 * 60_000 }, () => {
    let w: VmWorld | undefined;
    const started = performance.now();
    before(async () => { w = await makeVmWorld(log); });
    after(async () => {
      if (w) await disposeVmWorld(w);
      log(`VM fault suite total: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    });
    vmFaultTests(defaults, () => w!);
  });
}
