// A delay that ends early, with UnderstudyError('cancelled'), when its signal aborts.
import { UnderstudyError } from '../../core/domain/errors.ts';

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const cancelled = () => new UnderstudyError('cancelled', 'aborted');
    if (signal.aborted) return reject(cancelled());
    const onAbort = () => { clearTimeout(timer); reject(cancelled()); };
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
