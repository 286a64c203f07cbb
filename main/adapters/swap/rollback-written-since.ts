// The rollback's look below the directories a swap made: everything the host wrote there since, listed
// level by level (one probe per level of depth, not one per path), with what each entry is now, so that
// the rollback can take it out as steps of its own (see core/domain/rollback-move-aside.ts).
import type { HostEntry } from '../../core/domain/swap-drift.ts';
import type { SwapHost } from './swap-host.ts';

export async function probeWrittenSince(host: SwapHost, names: readonly string[]): Promise<Map<string, HostEntry>> {
  const found = new Map<string, HostEntry>();
  let level = [...names];
  while (level.length) {
    const now = await host.probe({ paths: level, listChildren: new Set(level) });
    const next: string[] = [];
    for (const [key, e] of now) {
      if (!e) continue; // gone since it was listed
      const { children, ...entry } = e;
      found.set(key, entry);
      if (e.type === 'dir') next.push(...(children ?? []));
    }
    level = next;
  }
  return found;
}
