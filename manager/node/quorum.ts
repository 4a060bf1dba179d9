/**
 * Whether a Raft member may be removed (demoted, or a manager node deleted) without losing quorum —
 * SwarmKit's CanRemoveMember: the reachable voters left after the removal must still be a majority of
 * the new configuration. A tagged answer, so the refusal says why.
 */
export interface MemberReachability {
  id: number;
  reachable: boolean;
}

export type RemovalDecision =
  | { ok: true }
  | { ok: false; reason: 'last-manager' | 'quorum'; message: string };

export function canRemoveMember(members: readonly MemberReachability[], id: number): RemovalDecision {
  const remaining = members.filter((m) => m.id !== id);
  if (remaining.length === 0) {
    return { ok: false, reason: 'last-manager', message: 'attempting to demote the last manager of the swarm' };
  }
  const reachable = remaining.filter((m) => m.reachable).length;
  const quorum = Math.floor(remaining.length / 2) + 1;
  if (reachable < quorum) {
    return { ok: false, reason: 'quorum', message: "can't remove member from the raft: this would result in a loss of quorum" };
  }
  return { ok: true };
}
