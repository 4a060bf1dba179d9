/** OCI image-spec documents (config, manifest, index) and checks that turn unknown JSON into them. */
import { isDigest, type Digest } from './digest.js';
import { badImageInput } from './errors.js';

export const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerTar: 'application/vnd.oci.image.layer.v1.tar',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
export const ANNOTATION_CONTAINERD_NAME = 'io.containerd.image.name';

/** The runtime part of an image config (Docker's capitalised keys). */
export interface OciContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number };
  OnBuild?: string[] | null;
  [k: string]: unknown;
}

export interface OciImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: OciContainerConfig;
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean; author?: string }[];
  [k: string]: unknown;
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}

export interface OciManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface OciIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function jsonOf(data: Buffer | string, what: string): unknown {
  try {
    return JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch (e) {
    throw badImageInput(`${what} is not valid JSON`, e);
  }
}

function stringMap(v: unknown, what: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v) || !Object.values(v).every((x) => typeof x === 'string')) throw badImageInput(`${what} must map strings to strings`);
  return v as Record<string, string>;
}

export function parseDescriptor(v: unknown, what: string): Descriptor {
  if (!isObj(v)) throw badImageInput(`${what} is not a descriptor object`);
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== 'string') throw badImageInput(`${what} has no mediaType`);
  if (!isDigest(digest)) throw badImageInput(`${what} has a bad digest ${JSON.stringify(digest)}`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw badImageInput(`${what} has a bad size`);
  const d: Descriptor = { mediaType, digest, size };
  const ann = stringMap(v.annotations, `${what}.annotations`);
  if (ann !== undefined) d.annotations = ann;
  if (isObj(v.platform) && typeof v.platform.architecture === 'string' && typeof v.platform.os === 'string') {
    d.platform = { architecture: v.platform.architecture, os: v.platform.os };
    if (typeof v.platform.variant === 'string') d.platform.variant = v.platform.variant;
  }
  return d;
}

export function parseManifest(data: Buffer | string): OciManifest {
  const v = jsonOf(data, 'image manifest');
  if (!isObj(v) || v.schemaVersion !== 2) throw badImageInput('image manifest must have schemaVersion 2');
  if (v.mediaType !== undefined && v.mediaType !== MEDIA.manifest && v.mediaType !== MEDIA.dockerManifest) {
    throw badImageInput(`unsupported manifest media type ${String(v.mediaType)}`);
  }
  if (!Array.isArray(v.layers)) throw badImageInput('image manifest has no layers array');
  const m: OciManifest = {
    schemaVersion: 2,
    config: parseDescriptor(v.config, 'manifest.config'),
    layers: v.layers.map((l, i) => parseDescriptor(l, `manifest.layers[${i}]`)),
  };
  if (typeof v.mediaType === 'string') m.mediaType = v.mediaType;
  const ann = stringMap(v.annotations, 'manifest.annotations');
  if (ann !== undefined) m.annotations = ann;
  return m;
}

export function parseIndex(data: Buffer | string): OciIndex {
  const v = jsonOf(data, 'image index');
  if (!isObj(v) || v.schemaVersion !== 2 || !Array.isArray(v.manifests)) throw badImageInput('image index must have schemaVersion 2 and a manifests array');
  const idx: OciIndex = { schemaVersion: 2, manifests: v.manifests.map((m, i) => parseDescriptor(m, `index.manifests[${i}]`)) };
  if (typeof v.mediaType === 'string') idx.mediaType = v.mediaType;
  return idx;
}

function stringArray(v: unknown, what: string): void {
  if (v !== undefined && v !== null && (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))) throw badImageInput(`${what} must be an array of strings`);
}

export function parseImageConfig(data: Buffer | string): OciImageConfig {
  const v = jsonOf(data, 'image config');
  if (!isObj(v)) throw badImageInput('image config is not an object');
  if (typeof v.architecture !== 'string' || typeof v.os !== 'string') throw badImageInput('image config needs architecture and os');
  const rootfs = v.rootfs;
  if (!isObj(rootfs) || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids) || !rootfs.diff_ids.every(isDigest)) {
    throw badImageInput('image config needs rootfs.type "layers" and sha256 diff_ids');
  }
  if (v.config !== undefined && v.config !== null) {
    if (!isObj(v.config)) throw badImageInput('image config.config must be an object');
    for (const k of ['Env', 'Entrypoint', 'Cmd', 'OnBuild']) stringArray(v.config[k], `config.${k}`);
    stringMap(v.config.Labels, 'config.Labels');
  }
  return v as unknown as OciImageConfig;
}

/** Canonical bytes for documents the store writes itself. */
export function canonicalJson(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v));
}
