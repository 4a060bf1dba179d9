// The pure Raft core: re-exports only.
//
// Driver loop (synchronous storage mode):
//   rn.tick() every tick; rn.step(m) for each message received; rn.propose(...) etc.
//   while (rn.hasReady()) {
//     const rd = rn.ready();
//     persist rd.snapshot (even one at index 0: a joining node's bootstrap membership),
//       rd.entries (truncating any overlapped suffix) and rd.hardState; fsync if rd.mustSync;
//     send rd.messages (safe before the fsync completes: responses that vouch for local
//       durability — MsgAppResp, MsgVoteResp, MsgPreVoteResp — only appear in the Ready after
//       the advance() that confirmed their state, so check hasReady() again after advance());
//     apply rd.snapshot then rd.committedEntries in order (applyConfChange for ConfChange entries);
//     rn.advance();
//   }
// For every MsgSnap sent, call reportSnapshot(to, 'finish' | 'failure'); call reportUnreachable(to)
// when a send to a peer fails.
export * from './types.js';
export { RawNode, ReadyContractError, mustSync } from './raw-node.js';
export { MemoryStorage, SnapshotOutOfDateError, StorageRangeError, emptyConfState, cloneConfState } from './memory-storage.js';
export { encodeConfChange, decodeConfChange, ConfChangeCodecError, isLeaveJoint, entersJoint } from './conf-change-codec.js';
export { ConfChangeError } from './confchange.js';
export { LogInvariantError } from './log.js';
export { ProposalDroppedError } from './raft.js';
export { RaftConfigError } from './raft-config.js';
export { newMessage, isResponseMessage } from './message.js';
export { entrySize, payloadSize } from './limit-size.js';
