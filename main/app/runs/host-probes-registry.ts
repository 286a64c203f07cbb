// Host-side probes for `assess` (swap journal, free space), set by the composition root like the stage
// services. Unset, `assess` reports those items as unknown.
import type { HostProbes } from './assess.ts';

let probes: HostProbes | undefined;

export function provideHostProbes(p: HostProbes | undefined): void { probes = p; }
export function hostProbes(): HostProbes | undefined { return probes; }
