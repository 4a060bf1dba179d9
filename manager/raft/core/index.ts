// The pure Raft core: re-exports only.
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
