// What both hypervisor adapters (qemu and libvirt) do the same way with a VM they started: read the end
// of its serial console file, and wait a bounded time for it to stop.
import { readFile } from 'node:fs/promises';

/** The last `lines` lines of a serial console log ('' while the file does not exist yet). */
export async function serialTailOf(file: string, lines: number): Promise<string> {
  let text = '';
  try { text = await readFile(file, 'utf8'); } catch { return ''; }
  return text.split('\n').slice(-lines).join('\n');
}

/** true when `exited` settles within `timeoutMs`, false otherwise (the VM is left as it is). */
export async function exitedWithin(exited: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const stopped = await Promise.race([
    exited.then(() => true),
    new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); }),
  ]);
  clearTimeout(timer);
  return stopped;
}
