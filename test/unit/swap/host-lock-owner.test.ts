// The dir: target's orchestrator lock knows its holder beyond the pid: after a crash or a restart of the
// machine the pid may belong to another process, and the lock must still be taken over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { lockWorkArea } from '../../../main/adapters/swap/host-lock.ts';
import { isUnderstudyError } from '../../../main/core/domain/errors.ts';
import { tokenOf } from '../helpers/record-owner.ts';

test('orchestrator.lock: a live holder refuses; a reused pid, a holder of an earlier boot or a dead pid is taken over', async () => {
  const work = join(mkdtempSync(join(tmpdir(), 'understudy-lock-')), 'work');
  const lock = join(work, 'orchestrator.lock');
  const other = spawn('sleep', ['60']);
  const pid = other.pid!;
  const busy = (e: unknown) => isUnderstudyError(e) && e.code === 'io' && e.message.includes(`pid ${pid}`);
  try {
    mkdirSync(work);
    for (const content of [`${pid} ${tokenOf(pid)}`, `${pid}`]) { // its own token, and a lock from before tokens
      writeFileSync(lock, content + '\n');
      await assert.rejects(lockWorkArea('dir:/x', work), busy, content);
    }
    const [, boot] = tokenOf(pid).split(' ');
    for (const stale of [`${pid} ${hostname()} ${boot} 1`, `${pid} ${hostname()} 00000000-0000-0000-0000-000000000000 ${tokenOf(pid).split(' ')[2]}`]) {
      writeFileSync(lock, stale + '\n');
      const release = await lockWorkArea('dir:/x', work);
      assert.equal(readFileSync(lock, 'utf8'), `${process.pid} ${tokenOf(process.pid)}\n`, `taken over from '${stale}'`);
      await release();
      assert.equal(existsSync(lock), false);
    }
  } finally {
    other.kill('SIGKILL');
    rmSync(join(work, '..'), { recursive: true, force: true });
  }
});
