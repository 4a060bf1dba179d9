/** The engine's containers: re-exports only. */
export { ContainerManager, type ContainerManagerOptions, type WaitCondition } from './container-manager.js';
export { EngineError, type EngineErrorStatus, asEngineError } from './errors.js';
export type { AttachHandle, AttachOptions } from './container-io.js';
export type { DockerStats } from './container-stats.js';
export type { ExecCreateBody, ExecHandle, ExecInspect, OutputChunk } from './exec-session.js';
export type { LogEntry, LogOptions } from './log-reader.js';
export type {
  ContainerCreateBody, ContainerEvent, ContainerImages, ContainerNetworking, ContainerRecord, ContainerStatus,
  HealthConfig, HostConfig, ImageLike, MountSpec, RestartPolicy,
} from './types.js';
