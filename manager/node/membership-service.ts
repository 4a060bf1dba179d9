/**
 * RaftMembership (proto/control.proto) on every manager, run on the leader (followers forward):
 * Join adds a manager that holds a manager certificate as a Raft learner, waits until it has caught
 * up with the log, then makes it a voter (so a slow joiner never costs the cluster its quorum), and
 * records its Raft ID and address in its Node's ManagerStatus.
 */
import * as grpc from '@grpc/grpc-js';
import type { RaftNode } from '../raft/raft-node.js';
import type { ReplicatedStore } from '../store/index.js';
import { authorize } from './caller.js';
import { jsonService, requestOf, rpcHandler, RpcError, str } from './grpc-json.js';
import type { LeaderForwarder } from './leader-forwarder.js';
import type { Logger } from './leader-loop.js';
import { parseHostPort } from './addresses.js';

export const MEMBERSHIP_SERVICE = 'shoal.control.RaftMembership';
export const JOIN_PATH = `/${MEMBERSHIP_SERVICE}/Join`;
export const MEMBERS_PATH = `/${MEMBERSHIP_SERVICE}/Members`;

export interface JoinResponse {
  members: { raftId: number; addr: string }[];
}

export interface MembershipDeps {
  clusterId: string;
  raft: () => RaftNode;
  store: ReplicatedStore;
  forwarder: LeaderForwarder;
  isRemoved: (nodeId: string) => boolean;
  log: Logger;
  /** how long a learner may take to catch up before the join fails (default 60 s) */
  catchUpMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function membershipService(deps: MembershipDeps): { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation } {
  const join = async (nodeId: string, raftId: number, addr: string): Promise<JoinResponse> => {
    const raft = deps.raft();
    const node = deps.store.view((tx) => tx.get('nodes', nodeId));
    if (!node) throw new RpcError(grpc.status.NOT_FOUND, `node ${nodeId} is not a member of this swarm`);
    if (node.Role !== 'manager') throw new RpcError(grpc.status.PERMISSION_DENIED, `node ${nodeId} is not a manager`);
    const members = raft.status().members;
    const same = members.find((m) => m.id === raftId);
    if (same && same.address !== addr) throw new RpcError(grpc.status.ALREADY_EXISTS, `raft ID ${raftId} is taken; pick another`);
    if (!same) {
      // a previous Raft ID of this node (re-promotion) leaves the configuration first
      const old = node.ManagerStatus?.RaftID;
      if (old !== undefined && old !== raftId && members.some((m) => m.id === old)) await raft.removeMember(old);
      deps.log.info({ node: nodeId, raftId, addr }, 'adding manager as a raft learner');
      await raft.addMember(raftId, addr, { learner: true });
    }
    if (raft.status().members.find((m) => m.id === raftId)?.learner) {
      const deadline = Date.now() + (deps.catchUpMs ?? 60_000);
      for (;;) {
        const st = raft.status();
        const pr = st.core.progress?.get(raftId);
        if (pr && pr.match >= st.commit) break;
        if (!raft.isLeader) throw new RpcError(grpc.status.UNAVAILABLE, 'leadership changed during the join; try again');
        if (Date.now() > deadline) {
          await raft.removeMember(raftId).catch(() => undefined);
          throw new RpcError(grpc.status.DEADLINE_EXCEEDED, `manager ${nodeId} did not catch up with the raft log within ${deps.catchUpMs ?? 60_000} ms`);
        }
        await sleep(50);
      }
      await raft.promote(raftId);
      deps.log.info({ node: nodeId, raftId }, 'manager promoted to raft voter');
    }
    await deps.store.update((tx) => {
      const n = tx.get('nodes', nodeId);
      if (!n) return;
      tx.update('nodes', { ...n, ManagerStatus: { Addr: addr, RaftID: raftId, Reachability: 'reachable', Leader: false } });
    });
    return { members: raft.status().members.map((m) => ({ raftId: m.id, addr: m.address })) };
  };

  const members = async (): Promise<JoinResponse> => ({ members: deps.raft().status().members.map((m) => ({ raftId: m.id, addr: m.address })) });

  const implementation: grpc.UntypedServiceImplementation = {
    // the current members, so a joiner's transport can answer them before the log tells it who they are
    Members: rpcHandler(async (call) => {
      const caller = authorize(call, { roles: ['manager'], clusterId: deps.clusterId, isRemoved: deps.isRemoved });
      return deps.forwarder.run(MEMBERS_PATH, {}, caller, members);
    }),
    Join: rpcHandler(async (call) => {
      const caller = authorize(call, { roles: ['manager'], clusterId: deps.clusterId, isRemoved: deps.isRemoved });
      const req = requestOf(call);
      const raftId = req.raftId;
      if (!Number.isSafeInteger(raftId) || (raftId as number) <= 0 || (raftId as number) > 0xffffffff) {
        throw new RpcError(grpc.status.INVALID_ARGUMENT, 'raftId: must be an integer in 1..2^32-1');
      }
      const addr = str(req, 'addr');
      try {
        parseHostPort(addr, 'addr');
      } catch (e) {
        throw new RpcError(grpc.status.INVALID_ARGUMENT, (e as Error).message);
      }
      return deps.forwarder.run(JOIN_PATH, req, caller, () => join(caller.nodeId, raftId as number, addr), 120_000);
    }),
  };
  return { definition: jsonService(MEMBERSHIP_SERVICE, ['Members', 'Join']), implementation };
}
