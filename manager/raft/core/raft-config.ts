// Validation of RaftConfig (etcd-io/raft Config.validate).

import type { RaftConfig } from './types.js';

export class RaftConfigError extends Error {
  constructor(message: string) { super(`raft config: ${message}`); this.name = 'RaftConfigError'; }
}

export function validateConfig(c: RaftConfig): void {
  if (!Number.isSafeInteger(c.id) || c.id <= 0) throw new RaftConfigError('cannot use none as id');
  if (!(c.heartbeatTick > 0)) throw new RaftConfigError('heartbeat tick must be greater than 0');
  if (!(c.electionTick > c.heartbeatTick)) throw new RaftConfigError('election tick must be greater than heartbeat tick');
  if (c.maxInflightMsgs !== undefined && !(c.maxInflightMsgs > 0)) throw new RaftConfigError('max inflight messages must be greater than 0');
  if (c.maxInflightBytes && c.maxSizePerMsg !== undefined && c.maxInflightBytes < c.maxSizePerMsg) {
    throw new RaftConfigError('max inflight bytes must be >= max message size');
  }
  if (c.readOnlyOption === 'lease-based' && !c.checkQuorum) {
    throw new RaftConfigError('CheckQuorum must be enabled when ReadOnlyOption is lease-based');
  }
  if (typeof c.random !== 'function') throw new RaftConfigError('random is required');
}
