// An upstream failure in an operator's words: what went wrong reaching a repository.
export function failureCause(e: unknown, timeoutMs?: number): string {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case 'ENOTFOUND': case 'EAI_AGAIN': case 'EAI_NONAME': case 'EAI_FAIL': return `name not resolved (${err.code})`;
    case 'ECONNREFUSED': return 'connection refused';
    case 'ECONNRESET': return 'connection reset';
    case 'EHOSTUNREACH': return 'host unreachable';
    case 'ENETUNREACH': return 'network unreachable';
    case 'ETIMEDOUT': case 'ESOCKETTIMEDOUT': case 'UND_TIMEOUT':
      return timeoutMs ? `timed out after ${Math.round(timeoutMs / 1000)} s` : 'timed out';
    case 'EPIPE': return 'connection closed while sending';
    default: return err?.message ? err.message : String(e);
  }
}

/** An Error carrying the code failureCause reads as a timeout. */
export const timeoutError = (): NodeJS.ErrnoException => Object.assign(new Error('timed out'), { code: 'UND_TIMEOUT' });
