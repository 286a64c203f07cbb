// One orchestrator at a time per target, from the drift probe to the journal's last line: the agent's own
// lock covers only its run, so two swaps planned against the same host state could otherwise both land,
// the second with a stale plan (and a record a rollback would trust). dir: hosts hold it as a file next
// to the tree (work/orchestrator.lock: the holder's pid and its token, see local/process-owner.ts); a
// holder that is gone (kill -9, or a restart of the machine, after which its pid may be another process's)
// is taken over.
// Hosts without `lock` (ssh, local) rely on the agent's lock alone.
import { link, mkdir, readFile, rmdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { SwapHost } from './swap-host.ts';
import { ownerAlive, ownerToken } from '../local/process-owner.ts';


/** Takes work/orchestrator.lock; the release removes it, and the work area too when this call made it and it is empty. */
export async function lockWorkArea(target: string, work: string): Promise<() => Promise<void>> {
  const made = await mkdir(work, { recursive: true });
  const file = join(work, 'orchestrator.lock');
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, `${process.pid} ${ownerToken()}\n`);
  try {
    for (let attempt = 0; ; attempt++) {
      try { await link(tmp, file); break; } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
        const [first, ...token] = (await readFile(file, 'utf8').catch(() => '')).trim().split(' ');
        const pid = Number(first);
        if (pid > 0 && ownerAlive(pid, token.join(' ') || undefined)) {
          throw new UnderstudyError('io', `another understudy swap, rollback or recover is running on ${target} (pid ${pid}); try again when it is done`, { busy: true, pid });
        }
        await unlink(file).catch(() => {}); // its holder is gone
      }
    }
  } catch (e) {
    await unlink(tmp).catch(() => {});
    if (made) await rmdir(work).catch(() => {});
    throw e;
  }
  await unlink(tmp);
  return async () => {
    await unlink(file).catch(() => {});
    if (made) await rmdir(work).catch(() => {}); // only if empty: a transaction's work stays
  };
}

/** Runs `f` holding the host's orchestrator lock (when the host has one). */
export async function withHostLock<T>(host: SwapHost, f: () => Promise<T>): Promise<T> {
  const release = host.lock ? await host.lock() : undefined;
  try { return await f(); } finally { await release?.(); }
}

export const isBusy = (e: unknown) => e instanceof UnderstudyError && e.details?.busy === true;
