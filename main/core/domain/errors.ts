// Typed errors: guards and exit codes decide on `code`, never on message text.

export type ErrorCode =
  | 'usage'              // bad arguments
  | 'not-implemented'    // a verb that is not built yet
  | 'bad-target'         // unparsable or unreachable target
  | 'host-key-unknown' | 'host-key-changed'
  | 'store-corrupt'      // integrity failure
  | 'map-not-found'
  | 'no-kernel'          // map has nothing bootable
  | 'timeout'
  | 'cancelled'
  | 'check-failed'       // a --check failed in the sandbox; host untouched
  | 'conflict'           // drift on the host; host untouched
  | 'health-failed'      // health failed on the host; rolled back
  | 'needs-recovery'     // a swap or rollback could not finish nor undo
  | 'no-space'
  | 'hypervisor'         // VM could not start / died
  | 'hypervisor-lost'    // the pool member running the sandbox went away mid-run (a batch retries elsewhere)
  | 'remote-command'     // a command on a host or sandbox failed
  | 'io'
  | 'internal';

export class UnderstudyError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'UnderstudyError';
  }
}

export const isUnderstudyError = (e: unknown): e is UnderstudyError =>
  e instanceof Error && e.name === 'UnderstudyError' && typeof (e as UnderstudyError).code === 'string';

/** Exit codes of ../shared/guides/cli-contract.md. */
export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'usage': return 2;
    case 'store-corrupt': return 3;
    case 'check-failed': return 4;
    case 'conflict': return 5;
    case 'health-failed': return 6;
    case 'needs-recovery': return 7;
    default: return 1;
  }
}
