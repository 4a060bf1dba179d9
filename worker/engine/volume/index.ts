/** The engine's named local volumes: re-exports only. */
export { VolumeStore, VolumeError, labelMatches, type VolumeRecord, type VolumeCreateBody, type VolumeFilters } from './volume-store.js';
