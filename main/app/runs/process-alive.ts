// Whether the process that owns a run or batch record still runs: its pid, and where the record has it,
// the pid's start time and the machine's boot id (adapters/local/process-owner.ts), so that a pid reused
// after a crash or a restart of the machine does not keep a dead run "running".
import { ownerAlive } from '../../adapters/local/process-owner.ts';

export interface OwnedRecord { ownerPid?: number; ownerToken?: string }

/** True while the record's owner runs (this process included). */
export const ownerRuns = (r: OwnedRecord): boolean => r.ownerPid !== undefined && ownerAlive(r.ownerPid, r.ownerToken);

/** True while another process than this one owns the record and runs. */
export const otherOwnerRuns = (r: OwnedRecord): boolean => r.ownerPid !== undefined && r.ownerPid !== process.pid && ownerRuns(r);
