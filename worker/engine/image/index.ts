/** The node-local image store: re-exports only. */
export { ImageStore } from './image-store.js';
export type { ImageRecord, ImageLayerRef } from './image-record.js';
export type { OciImageConfig, OciContainerConfig, OciManifest, OciIndex, Descriptor } from './oci-types.js';
export { normalizeRef, parseRef, fullyQualified, type ParsedRef } from './reference.js';
export { ImageError, type ImageErrorStatus } from './errors.js';
export { toDockerInspect, toDockerSummary, dockerContainerConfig, type DockerImageInspect, type DockerImageSummary } from './image-inspect.js';
export { applyChanges } from './image-changes.js';
export type { ImportOptions } from './image-import.js';
export type { SaveFormat } from './image-save.js';
export { ensureBusybox, buildBusyboxLayout, busyboxScriptPath, BUSYBOX_REF } from './base-image.js';
export type { PullOptions, PullProgress } from './image-pull.js';
export { registryTarget, type RegistryTarget } from './registry-client.js';
