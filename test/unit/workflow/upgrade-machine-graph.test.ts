// Path coverage with xstate's graph utilities: every state is reachable, every reachable state can still
// finish (no dead ends), and every final state maps to an outcome with its contract exit code.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';
import type { EventObject } from 'xstate';
import { upgradeMachine } from '../../../main/core/workflow/upgrade.machine.ts';
import { UnderstudyError, type ErrorCode } from '../../../main/core/domain/errors.ts';
import { outcomeOfState } from '../../../main/core/workflow/run-result.ts';
import { exitCodeForOutcome, type RunInput } from '../../../main/core/workflow/run-types.ts';
import { testInput } from './harness.ts';

const codes: ErrorCode[] = ['io', 'check-failed', 'conflict', 'health-failed', 'needs-recovery', 'cancelled'];

/** The events a snapshot can see: its invoked actor finishing or failing with each code, and the operator's. */
function eventsFor(s: any): EventObject[] {
  const out: EventObject[] = [];
  for (const id of Object.keys(s.children ?? {})) {
    out.push({ type: `xstate.done.actor.${id}`, output: {} } as EventObject);
    for (const code of codes) out.push({ type: `xstate.error.actor.${id}`, error: new UnderstudyError(code, code) } as EventObject);
  }
  out.push({ type: 'CANCEL' }, { type: 'ABORT' }, { type: 'APPROVE' });
  return out;
}

const serializeState = (s: any) => JSON.stringify([s.value, s.context.ending ?? null, Object.keys(s.children ?? {})]);

const variants: Array<[string, Partial<RunInput>]> = [
  ['upgrade, interactive', { yes: false }],
  ['upgrade, --yes', { yes: true }],
  ['rehearse', { kind: 'rehearse', yes: false }],
];

const allStates = Object.keys(upgradeMachine.root.states);
const finals = allStates.filter((k) => upgradeMachine.root.states[k]!.type === 'final');

describe('machine graph', () => {
  const reached = new Set<string>();
  for (const [name, over] of variants) {
    it(`${name}: every reachable state can reach a final state`, () => {
      const opts = { input: testInput(over), events: eventsFor, serializeState };
      const paths = getShortestPaths(upgradeMachine, opts as any);
      assert.ok(paths.length > 10);
      for (const p of paths) reached.add(String(p.state.value));
      // No dead ends: from every reachable non-final state, some path leads to a final state.
      for (const p of paths) {
        if (p.state.status === 'done') continue;
        const onward = getShortestPaths(upgradeMachine, { ...opts, fromState: p.state, toState: (s: any) => s.status === 'done' } as any);
        assert.ok(onward.length > 0, `dead end at ${String(p.state.value)}`);
      }
    });
  }

  it('all states are reachable across the variants (except the transient router)', () => {
    const missing = allStates.filter((s) => s !== 'finishing' && !reached.has(s));
    assert.deepEqual(missing, []);
  });

  it('every final state is an outcome with an exit code', () => {
    assert.deepEqual(finals.sort(), ['aborted', 'cancelled', 'check-failed', 'conflict', 'done', 'failed', 'needs-recovery', 'rehearsed', 'rolled-back']);
    const exits = Object.fromEntries(finals.map((f) => [f, exitCodeForOutcome(outcomeOfState(f)!)]));
    assert.deepEqual(exits, { aborted: 1, cancelled: 1, 'check-failed': 4, conflict: 5, done: 0, failed: 1, 'needs-recovery': 7, rehearsed: 0, 'rolled-back': 6 });
  });

  it('simple paths to done pass through review and never through cleanup or rollback', () => {
    const paths = getSimplePaths(upgradeMachine, {
      input: testInput({ yes: false }), events: eventsFor, serializeState, toState: (s: any) => s.value === 'done',
    } as any);
    assert.ok(paths.length >= 1);
    for (const p of paths) {
      const visited = p.steps.map((st) => String(st.state.value));
      assert.ok(visited.includes('review'));
      assert.ok(!visited.includes('rolling-back') && !visited.includes('cleaning-up'), visited.join(' > '));
    }
  });

  it('host-changing states are only reachable through an APPROVE (or --yes) at review', () => {
    const paths = getShortestPaths(upgradeMachine, { input: testInput({ yes: false }), events: eventsFor, serializeState } as any);
    for (const p of paths.filter((x) => ['swapping', 'restarting', 'health', 'rolling-back', 'done', 'rolled-back'].includes(String(x.state.value)))) {
      assert.ok(p.steps.some((st) => st.event.type === 'APPROVE'), `${String(p.state.value)} without APPROVE`);
    }
  });
});
