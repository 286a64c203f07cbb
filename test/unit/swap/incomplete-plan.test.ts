// A plan cut off while it was written. Over SSH the plan streams into `cat`; an orchestrator killed
// mid-plan closes the channel, and `cat` takes that for the end (found by the VM fault campaign: the
// transaction then held a plan nobody could read, and every recover failed with 'not a plan').
// - The host side of createTx keeps no transaction whose plan lacks its last line.
// - Recover closes such a transaction (one an older orchestrator left) as discarded, on both agent
//   paths, the tree untouched, and a swap runs after it; apply refuses such a plan; a record head cut
//   off the same way is read as none, and the swap after it rolls back.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CREATE_TX_SCRIPT } from '../../../main/adapters/swap/ssh-host.ts';
import { openDirHost } from '../../../main/adapters/swap/dir-host.ts';
import { recover } from '../../../main/adapters/swap/recover.ts';
import { rollbackLatest } from '../../../main/adapters/swap/rollback.ts';
import { readHostTxs } from '../../../main/adapters/swap/swap-record.ts';
import { swap } from '../../../main/adapters/swap/swap.ts';
import { formatPlan } from '../../../main/core/domain/swap-plan-format.ts';
import { snapshot } from './helpers/tree.ts';
import { standardPair } from './helpers/tree-pair.ts';

const p = standardPair('understudy-incomplete-plan-');
after(() => rmSync(p.base, { recursive: true, force: true }));

const PLAN = formatPlan({ txid: 'tx-a', kind: 'swap', areas: ['/nowhere/a0'], layout: 'flat' }, []);

test('createTx on a shell host: a whole plan becomes the transaction; a cut one leaves nothing', () => {
  const work = mkdtempSync(join(tmpdir(), 'understudy-create-tx-'));
  try {
    const make = (txid: string, stdin: string) => spawnSync('sh', ['-c', CREATE_TX_SCRIPT, 'sh', work, txid], { input: stdin, encoding: 'utf8' });
    const whole = make('tx-whole', PLAN);
    assert.equal(whole.status, 0, whole.stderr);
    assert.equal(readFileSync(join(work, 'tx', 'tx-whole', 'plan'), 'utf8'), PLAN);
    for (const [txid, cut] of [['tx-empty', ''], ['tx-head', PLAN.slice(0, 20)], ['tx-no-end', PLAN.replace(/end\n$/, '')], ['tx-en', PLAN.slice(0, -2)]] as const) {
      const r = make(txid, cut);
      assert.equal(r.status, 1, `${txid}: ${r.stderr}`);
      assert.match(r.stderr, /the plan arrived incomplete/);
    }
    assert.deepEqual(readdirSync(join(work, 'tx')), ['tx-whole'], 'no transaction, and no half-made directory, for a cut plan');
  } finally { rmSync(work, { recursive: true, force: true }); }
});

for (const path of ['perl', 'sh'] as const) {
  test(`recover (${path} path): a transaction with a cut plan and no journal is discarded; the tree is untouched`, async () => {
    const dir = join(p.base, `h-${path}`);
    execFileSync('cp', ['-a', p.t1, dir]);
    const agentEnv = { UNDERSTUDY_AGENT_PATH: path };
    const host = await openDirHost(`dir:${dir}`);
    await host.installAgent(agentEnv);
    const before = snapshot(dir);
    const cuts = { '20261204T000001Z-swap-aaaaaa': '', '20261204T000002Z-swap-bbbbbb': PLAN.slice(0, 30), '20261204T000003Z-swap-cccccc': PLAN.slice(0, -4) };
    for (const [txid, text] of Object.entries(cuts)) {
      mkdirSync(join(host.work, 'tx', txid), { recursive: true });
      writeFileSync(join(host.work, 'tx', txid, 'plan'), text);
    }
    // and a record head cut off the same way (its transaction is as unfinished)
    writeFileSync(join(host.work, 'tx', '20261204T000003Z-swap-cccccc', 'record-head.json'), '{"txid":"20261204T000003Z-swap-cc');
    // apply refuses such a plan, naming it
    const applied = await host.agent(['apply', dir, host.work, '20261204T000003Z-swap-cccccc'], agentEnv);
    assert.equal(applied.code, 2);
    assert.match(applied.stderr, /incomplete plan: .*20261204T000003Z-swap-cccccc\/plan/);

    const got = await recover(host, { agentEnv });
    assert.deepEqual(got.map((r) => [r.txid, r.result]).sort(), Object.keys(cuts).map((t) => [t, 'discarded']));
    for (const txid of Object.keys(cuts)) assert.match(readFileSync(join(host.work, 'tx', txid, 'journal'), 'utf8'), /^aborted /m);
    assert.deepEqual(snapshot(dir), before);
    assert.deepEqual(await recover(host, { agentEnv }), [], 'a second recover finds nothing to do');
    // nothing is left under way: a swap runs and lands exactly map2
    const s = await swap({ host, store: p.store, map1: p.map1, map2: p.map2, agentEnv });
    assert.equal(s.outcome, 'committed');
    assert.deepEqual(snapshot(dir), snapshot(p.t2));
    assert.ok(existsSync(join(host.work, 'tx', s.txid, 'plan')));
    // the host's records are read past the cut head: the swap is rolled back, exactly map1 again
    const txs = await readHostTxs(host);
    assert.equal(txs.get('20261204T000003Z-swap-cccccc')?.record, undefined);
    assert.equal(txs.get(s.txid)?.record?.txid, s.txid);
    await rollbackLatest({ host, store: p.store, agentEnv });
    assert.deepEqual(snapshot(dir), before);
  });
}
