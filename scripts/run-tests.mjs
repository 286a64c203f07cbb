#!/usr/bin/env node
// Runs the suites with node's built-in test runner (TypeScript through tsx).
// Usage: run-tests.mjs [unit|integration|e2e|faults|all]   (default: all but the long fault run)
// Node 20's runner takes no globs, so files are collected here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

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

const files = suites.flatMap((s) => collect(join('test', s)));
if (files.length === 0) {
  console.error(`no test files for ${suites.join(', ')}`);
  process.exit(1);
}
// Integration tests share VMs, ports and the image cache: run files one at a time to fit 2 cores.
// spec for people, tap to a file so the closing line can be a plain 'N passed, N failed'.
const tap = join(mkdtempSync(join(tmpdir(), 'understudy-tests-')), 'results.tap');
const res = spawnSync(process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files],
  { stdio: 'inherit' });
const text = (() => { try { return readFileSync(tap, 'utf8'); } catch { return ''; } })();
const count = (k) => Number((text.match(new RegExp(`^# ${k} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
const passed = count('pass'), failed = count('fail'), skipped = count('skipped');
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(res.status ?? 1);
