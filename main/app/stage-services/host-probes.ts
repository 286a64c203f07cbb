// Host-side facts for `assess`: is the swap journal clean (no transaction left between plan and commit),
// and is there room for a swap's staging + undo copies. Read-only on the host.
import { join } from 'node:path';
import type { HostProbes } from '../runs/assess.ts';
import { openTargetHost } from './open-target-host.ts';

/** Staging holds the new content and the undo area hardlinks the old: budget twice a typical upgrade. */
const SWAP_BUDGET_BYTES = 1024 ** 3;

export function realHostProbes(store: string): HostProbes {
  const withHost = async <T>(target: string, f: (h: Awaited<ReturnType<typeof openTargetHost>>) => Promise<T>) => {
    const h = await openTargetHost(target, store, {});
    try { return await f(h); } finally { await h.close(); }
  };
  return {
    journalClean: (target) => withHost(target, async (h) => {
      const open: string[] = [];
      // a dot name is a transaction directory still being built (createTx): no plan of its own yet, nothing staged
      for (const txid of (await h.list(join(h.work, 'tx'))).filter((n) => !n.startsWith('.'))) {
        const r = await h.agent(['status', h.work, txid]);
        const state = r.stdout.trim();
        if (state !== 'committed' && state !== 'aborted' && state !== 'none') open.push(`${txid} (${state})`);
      }
      return open.length
        ? { clean: false, detail: `interrupted transaction(s): ${open.join(', ')} — run understudy recover` }
        : { clean: true };
    }),
    freeSpace: (target) => withHost(target, async (h) => ({ freeBytes: await h.freeBytes(h.root), neededBytes: SWAP_BUDGET_BYTES })),
  };
}
