// What a sandbox could leave behind, counted (tests and benchmarks assert these are back to zero).
import { readdirSync, readFileSync } from 'node:fs';

/** PIDs of QEMU processes whose command line mentions `marker` (a temp dir, a name prefix): others' VMs don't count. */
export function qemuProcessesMentioning(marker: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let cmd = '';
    try { cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8'); } catch { continue; }
    const argv0 = cmd.split('\0')[0] ?? '';
    if (/(^|\/)qemu-system-/.test(argv0) && cmd.includes(marker)) pids.push(Number(p));
  }
  return pids;
}

/** Names of the libvirt domains whose XML mentions `marker` (e.g. a private temp dir holding their disks). */
export async function libvirtDomainsMentioning(uri: string, marker: string): Promise<string[]> {
  const { Hypervisor } = await import('@unraid/libvirt');
  const conn = new Hypervisor({ uri });
  await conn.connectOpen();
  try {
    const out: string[] = [];
    for (const d of await conn.connectListAllDomains()) {
      const xml = await d.getXMLDesc().catch(() => '');
      if (xml.includes(marker)) out.push(await d.getName());
    }
    return out;
  } finally {
    await conn.connectClose();
  }
}
