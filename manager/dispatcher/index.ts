// The dispatcher: worker sessions, heartbeats, assignments, task status intake. Re-exports only.
export { Dispatcher, type DispatcherOptions, type DispatcherHandle, type Sink, type Timers } from './dispatcher.js';
export { dispatcherService, dispatcherServiceDefinition, toServiceError, DISPATCHER_SERVICE, LEADER_ADDR_KEY } from './dispatcher-service.js';
export { DispatchError, type DispatchErrorCode } from './dispatch-error.js';
export { HeartbeatTracker, nextPeriod, DEFAULT_HEARTBEAT_PERIOD_MS, MISSED_HEARTBEATS_DOWN, HEARTBEAT_JITTER } from './heartbeat-tracker.js';
export {
  type AssignmentSet, type AssignmentChange, type AssignmentMessage, type AssignmentKind,
  computeAssignments, diffAssignments, completeMessage, taskNeededByAgent,
} from './assignments.js';
export { checkReport, type StatusReport, type IntakeDecision } from './status-intake.js';
export { managerList, pickWeighted, observeFailure, type WeightedManager, MANAGER_WEIGHT, LEADER_WEIGHT } from './manager-list.js';
export type * from './wire.js';
export {
  type NetworkView, type NetworkPeer, type OverlayNetworkSpec, NetworkViewCache,
  networkView, overlaySpecOf, macForAddress, addressOf, taskAddress, taskNetworkIds,
  type NetworkViewPatch, type ListChange, diffNetworkView, applyNetworkPatch, memoDiffNetworkView,
} from './network-view.js';
export {
  type LogBroker, type LogSelector, type LogStreamOptions, type LogLine, type LogContext, type SubscriptionMessage,
  type PublishLogsRequest, type WireLogLine, checkSubscription, logTargets, selects, LineQueue, normalizeLogOptions,
} from './logs.js';
export { LogHub } from './log-hub.js';
export { remoteLogBroker, managerLogBroker, type RemoteLogBrokerOptions } from './remote-log-broker.js';
export type { SubscribeLogsMessage } from './dispatcher-service.js';
