// What a batch needs to share rehearsals between different hosts, with the store's maps: each host's
// content id and grouping basis (adapters/fleet/host-basis.ts), and the per-path verification that
// decides whether a follower may take its representative's rehearsal (adapters/fleet/follower-verify.ts).
import type { FleetMember } from '../../core/domain/fleet-groups.ts';
import { fleetMember } from '../../adapters/fleet/host-basis.ts';
import { verifyFollower, type FollowerVerdict } from '../../adapters/fleet/follower-verify.ts';

export interface FleetSharing {
  describe(target: string, map1: string, plan: { command: string; checks: string[] }): Promise<FleetMember>;
  verify(owner: { map1: string; map2: string }, own: { map1: string }): Promise<FollowerVerdict>;
}

export function realFleetSharing(store: string): FleetSharing {
  return {
    describe: (target, map1, plan) => fleetMember(store, target, map1, plan),
    verify: (owner, own) => verifyFollower(store, owner, own),
  };
}
