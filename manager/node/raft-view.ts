/** What the leader loops of the manager role see of Raft (the RaftNode and the leader's reachability view). */
import type { RaftNodeStatus } from '../raft/raft-node.js';

export interface RaftView {
  readonly selfId: number;
  isLeader(): boolean;
  status(): RaftNodeStatus;
  /** voters of the configuration with whether the leader hears from them */
  voters(now: number): { id: number; reachable: boolean }[];
  removeMember(id: number): Promise<void>;
  transferLeadership(to: number): Promise<void>;
}
