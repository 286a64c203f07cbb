// Makes a run or batch record look owned by another process (alive or gone), as the run store would have
// recorded it: its pid and its token (host, boot id, the pid's start time; adapters/local/process-owner.ts).
import type Database from 'better-sqlite3';
import { currentOwner, ownerToken, startTicks } from '../../../main/adapters/local/process-owner.ts';

/** The token process `pid` would have written (a gone pid gets a start time no process has). */
export const tokenOf = (pid: number): string => ownerToken({ ...currentOwner(), pid, startTicks: startTicks(pid) ?? 'gone' });

export function setOwner(db: Database.Database, table: 'runs' | 'batches', id: string, pid: number | null): void {
  db.prepare(`UPDATE ${table} SET owner_pid = ?, owner_token = ? WHERE id = ?`).run(pid, pid === null ? null : tokenOf(pid), id);
}
