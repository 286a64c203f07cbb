// The batch's hold on swaps: when its rehearsals may run wider than --parallel (a pool's capacity), the
// swap phase of its upgrade runs still goes --parallel at a time. A run takes a place at its first
// swap-phase stage (reconciling) and gives it back when it finishes, whatever the outcome.
import type { StageServices } from '../../core/workflow/stage-services.ts';

export class SwapGate {
  private held = new Set<string>();
  private waiting: Array<{ runId: string; go(): void }> = [];

  constructor(private readonly width: number) {}

  /** Resolves once `runId` holds a place (at once when it already does). */
  enter(runId: string, signal?: AbortSignal): Promise<void> {
    if (this.held.has(runId)) return Promise.resolve();
    if (this.held.size < this.width) { this.held.add(runId); return Promise.resolve(); }
    return new Promise((resolve, reject) => {
      const w = { runId, go: () => { signal?.removeEventListener('abort', onAbort); this.held.add(runId); resolve(); } };
      const onAbort = () => { this.waiting = this.waiting.filter((x) => x !== w); reject(signal!.reason); };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(w);
    });
  }

  /** The run finished: its place (if any) goes to the next waiting run. */
  leave(runId: string): void {
    if (!this.held.delete(runId)) return;
    const next = this.waiting.shift();
    next?.go();
  }
}

/** A run's services whose swap phase waits for a place at the gate. */
export function gatedSwaps(inner: StageServices, gate: SwapGate): StageServices {
  return {
    ...inner,
    async findConflicts(a, io) {
      await gate.enter(io.runId, io.signal);
      return inner.findConflicts(a, io);
    },
  };
}
