// A capture that stops before its end (cancelled, or an error in the walk) leaves no helper process
// behind: a getfattr reader still waiting on its input would keep the CLI from ever exiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { capture } from '../../../main/adapters/capture/capture.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';

/** Our child processes, by command name. */
function children(): string[] {
  const out: string[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) out.push(stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')));
    } catch { /* gone meanwhile */ }
  }
  return out;
}

test('a cancelled capture stops its xattr reader and writes no map', async () => {
  const work = mkdtempSync(join(tmpdir(), 'understudy-capture-cancel-'));
  try {
    const tree = join(work, 'tree');
    for (let d = 0; d < 40; d++) {
      mkdirSync(join(tree, `d${d}`), { recursive: true });
      for (let f = 0; f < 50; f++) writeFileSync(join(tree, `d${d}`, `f${f}`), `${d}/${f}\n`);
    }
    const ac = new AbortController();
    const started = capture({ store: join(work, 'store'), target: `dir:${tree}`, signal: ac.signal,
      onProgress: () => ac.abort() });
    ac.abort();
    await assert.rejects(started, (e) => isUnderstudyError(e) && e.code === 'cancelled');
    for (let i = 0; i < 50 && children().some((c) => c === 'xargs' || c === 'getfattr'); i++) await sleep(100);
    assert.deepEqual(children().filter((c) => c === 'xargs' || c === 'getfattr'), [], 'no getfattr reader left');
    assert.deepEqual(readdirSync(join(work, 'store', 'maps')).filter((n) => n.endsWith('.json')), [], 'no map written');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
