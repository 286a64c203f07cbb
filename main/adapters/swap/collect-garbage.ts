// A full garbage collection, on request. Planning a release upgrade's swap or rollback (the drift probe,
// the delta, a 100k-path record read back) leaves ~100-200 MB of dead objects, and V8 lets the heap grow
// well past that before it collects on its own: while the plan is built next, the orchestrator's peak
// RSS would be the live set plus all of it (measured: 444 MB at 100k paths against ~160 MB live).
// Node exposes no collection without --expose-gc at start, so the flag is set here and the function is
// taken from a context made after it (the flag changes nothing else in this process).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

export function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}
