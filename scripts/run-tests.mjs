#!/usr/bin/env node
// Runs the suites with node's built-in test runner (TypeScript through tsx).
// Usage: run-tests.mjs [unit|integration|e2e|faults|release|all]   (default: all but the long fault and release runs)
// Node 20's runner takes no globs, so files are collected here.
// Two lanes, side by side: unit files two at a time (they share nothing and mostly wait on child
// processes); integration, e2e and fault files one at a time (they boot VMs and share ports and the
// image cache). The closing line is a plain 'N passed, N failed' over both lanes.
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { tapFailures } from './tap-failures.mjs';

const which = process.argv[2] ?? 'all';
const suites = which === 'all' ? ['unit', 'integration', 'e2e'] : [which];

function collect(dir) {
  let out = [];
  let names = [];
  try { names = readdirSync(dir).sort(); } catch { return out; }
  for (const n of names) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out = out.concat(collect(p));
    else if (n.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const lanes = [
  { name: 'unit', concurrency: 2, files: suites.includes('unit') ? collect(join('test', 'unit')) : [] },
  { name: 'vm', concurrency: 1, files: suites.filter((s) => s !== 'unit').flatMap((s) => collect(join('test', s))) },
].filter((l) => l.files.length > 0);
if (lanes.length === 0) {
  console.error(`no test files for ${suites.join(', ')}`);
  process.exit(1);
}

const results = join(mkdtempSync(join(tmpdir(), 'understudy-tests-')), 'results');

/** Runs one lane; its spec output goes to stdout (live) or to a file (printed when the lanes are done). */
function runLane(lane, i, live) {
  // spec for people, tap to a file so the counts can be summed
  const tap = `${results}-${i}.tap`, log = `${results}-${i}.log`;
  const child = spawn(process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${lane.concurrency}`,
      '--test-reporter=spec', `--test-reporter-destination=${live ? 'stdout' : log}`,
      '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...lane.files],
    { stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ tap, log: live ? undefined : log, code: code ?? (signal ? 1 : 0) })));
}

// The lanes run side by side: unit files mostly wait on child processes and finish within minutes, while
// the VM lane is bound by its guests; the VM lane's output is shown live, the unit lane's after it.
const done = await Promise.all(lanes.map((lane, i) => runLane(lane, i, i === lanes.length - 1)));
const totals = { pass: 0, fail: 0, skipped: 0 };
let status = 0;
const failures = [];
for (const r of done) {
  if (r.log) { try { process.stdout.write(readFileSync(r.log, 'utf8')); } catch { /* the lane wrote nothing */ } }
  const text = (() => { try { return readFileSync(r.tap, 'utf8'); } catch { return ''; } })();
  const count = (k) => Number((text.match(new RegExp(`^# ${k} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
  for (const k of Object.keys(totals)) totals[k] += count(k);
  failures.push(...tapFailures(text));
  // a lane that died without a result (no tap counts) must not pass for green
  if (r.code !== 0 || text === '') status = r.code || 1;
}
// the failures again at the end, where a log's tail shows them
if (failures.length > 0) console.log(`\nfailed tests:\n${failures.join('\n')}\n`);
console.log(`${totals.pass} passed, ${totals.fail} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
process.exit(status);
