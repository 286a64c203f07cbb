// Reading a booting machine's serial console: the lines that mean the boot has stopped for good (a
// kernel panic, an initramfs that cannot find root, systemd's emergency mode), so a failed boot is
// reported when it happens rather than at the end of the boot timeout; and systemd's status lines that
// say which units failed, for boots that never reach SSH. Pure.

/** ANSI colour codes systemd writes around [FAILED] etc. */
export const withoutAnsi = (line: string): string => line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

const STOPS: Array<[RegExp, string]> = [
  [/Kernel panic - not syncing/, 'kernel panic'],
  [/VFS: Unable to mount root fs/, 'the kernel could not mount the root filesystem'],
  [/No working init found|Failed to execute \/init/, 'no init to run'],
  [/Gave up waiting for root (file system )?device|ALERT! .* does not exist\.\s*Dropping to a shell/, 'the initramfs did not find the root filesystem'],
  [/^\(initramfs\)/, 'the initramfs dropped to a shell'],
  [/You are in emergency mode|Entering emergency mode|Give root password for maintenance|Cannot open access to console, the root account is locked/,
    'systemd entered emergency mode'],
  [/You are in rescue mode|Entering rescue mode/, 'systemd entered rescue mode'],
];

/** What a console line says about a boot that will not come up, if it says so. */
export function bootStopLine(line: string): string | undefined {
  const l = withoutAnsi(line).trim();
  return STOPS.find(([r]) => r.test(l))?.[1];
}

/**
 * Units the console says failed: systemd's "[FAILED] Failed to mount X.", "[DEPEND] Dependency failed for X."
 * and "[ TIME ] Timed out waiting for device X." lines, in order, each once. With
 * systemd.status_unit_format=name X is the unit's name (mnt-data.mount); with combined, "mnt-data.mount - /mnt/data".
 */
export function failuresFromConsole(lines: string[]): string[] {
  const out: string[] = [];
  for (const raw of lines) {
    const l = withoutAnsi(raw);
    const m = /\b(Failed to (?:start|mount|activate|listen on|set up)|Dependency failed for|Timed out waiting for device) (.+?)\.?\s*$/.exec(l);
    if (!m) continue;
    const what = m[1]!.startsWith('Dependency') ? 'dependency failed' : m[1]!.startsWith('Timed out') ? 'timed out' : m[1]!.toLowerCase();
    const item = `${m[2]!.trim()}: ${what}`;
    if (!out.includes(item)) out.push(item);
  }
  return out;
}
