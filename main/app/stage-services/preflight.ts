// Preflight: every check the run needs before it captures anything, each with a verdict. Nothing is
// written to the host; the store directory is created if missing.
import { constants } from 'node:fs';
import { access, mkdir, stat, statfs } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseTarget } from '../../core/domain/map-target.ts';
import { rebootRefusal } from '../../core/domain/restart-plan.ts';
import type { PreflightItem, RunInput } from '../../core/workflow/run-types.ts';
import type { RemoteShell } from '../../core/ports/remote-shell.port.ts';
import { isUnderstudyError } from '../../core/domain/errors.ts';

const MIN_STORE_FREE = 2 * 1024 ** 3;
const gib = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GiB`;

async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

async function check(name: string, fn: () => Promise<string | undefined>): Promise<PreflightItem> {
  try {
    const detail = await fn();
    return { name, ok: true, ...(detail ? { detail } : {}) };
  } catch (e) {
    return { name, ok: false, detail: isUnderstudyError(e) || e instanceof Error ? e.message : String(e) };
  }
}

export async function preflightItems(input: RunInput, store: string,
  connect: (t: { user: string; host: string; port: number }) => Promise<RemoteShell>, _signal: AbortSignal): Promise<PreflightItem[]> {
  const items: PreflightItem[] = [];
  const t = parseTarget(input.target);
  items.push(await check('host reachable', async () => {
    if (t.kind === 'dir') {
      const st = await stat(resolve(t.path)).catch(() => null);
      if (!st?.isDirectory()) throw new Error(`${t.path} is not a directory`);
      return `${resolve(t.path)}, ${gib(await freeBytes(resolve(t.path)))} free`;
    }
    if (t.kind === 'local') {
      if (process.getuid?.() !== 0) throw new Error('local target needs root');
      return `${gib(await freeBytes('/'))} free on /`;
    }
    const shell = await connect(t);
    try {
      const r = await shell.run("df -Pk / | awk 'NR==2{print $4}'", { timeoutMs: 30_000 });
      if (r.exitCode !== 0) throw new Error(`df failed on the host: ${r.stderr.trim()}`);
      return `${t.user}@${t.host}:${t.port}, host key known, ${gib(Number(r.stdout.trim()) * 1024)} free on /`;
    } finally { await shell.close(); }
  }));
  const refusal = input.kind === 'upgrade' ? rebootRefusal(t.kind, input.reboot) : undefined;
  if (refusal) items.push({ name: 'reboot policy', ok: false, detail: refusal });
  items.push(await check('store writable', async () => {
    await mkdir(store, { recursive: true });
    await access(store, constants.W_OK);
    const free = await freeBytes(store);
    if (free < MIN_STORE_FREE) throw new Error(`only ${gib(free)} free in ${store}; need at least ${gib(MIN_STORE_FREE)}`);
    return `${store}, ${gib(free)} free`;
  }));
  items.push(await check('hypervisor', async () => {
    const kind = input.options.hypervisor ?? 'qemu';
    if (kind === 'qemu') await access('/usr/bin/qemu-system-x86_64', constants.X_OK);
    return `${String(kind)} (KVM probed at boot, TCG otherwise)`;
  }));
  return items;
}
