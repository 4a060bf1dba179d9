/**
 * SwarmKit's defaults for a new cluster's spec (api/defaults, manager/state/raft DefaultRaftConfig,
 * ca DefaultNodeCertExpiration), in the Docker API's units: durations in nanoseconds.
 */
import type { SwarmSpec } from './objects.js';

const NS_PER_S = 1_000_000_000;

export function defaultSwarmSpec(): SwarmSpec {
  return {
    Name: 'default',
    Labels: {},
    Orchestration: { TaskHistoryRetentionLimit: 5 },
    Raft: { SnapshotInterval: 10000, KeepOldSnapshots: 0, LogEntriesForSlowFollowers: 500, ElectionTick: 10, HeartbeatTick: 1 },
    Dispatcher: { HeartbeatPeriod: 5 * NS_PER_S },
    CAConfig: { NodeCertExpiry: 2160 * 3600 * NS_PER_S },
    TaskDefaults: {},
    EncryptionConfig: { AutoLockManagers: false },
  };
}
