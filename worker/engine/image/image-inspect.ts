/** Docker's views of an image: `GET /images/{name}/json` (inspect) and `GET /images/json` (summary). */
import type { ImageRecord } from './image-record.js';

export interface DockerImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  Container: string;
  ContainerConfig: Record<string, unknown>;
  DockerVersion: string;
  Author: string;
  Config: Record<string, unknown>;
  Architecture: string;
  Variant?: string;
  Os: string;
  Size: number;
  VirtualSize: number;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
}

export interface DockerImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize: number;
  Labels: Record<string, string>;
  Containers: number;
}

/** The image config's runtime part in Docker's container-config shape (every key present). */
export function dockerContainerConfig(rec: ImageRecord): Record<string, unknown> {
  const c = rec.config.config ?? {};
  return {
    Hostname: '',
    Domainname: '',
    User: c.User ?? '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ExposedPorts: c.ExposedPorts ?? null,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: c.Env ?? null,
    Cmd: c.Cmd ?? null,
    Healthcheck: c.Healthcheck,
    Image: '',
    Volumes: c.Volumes ?? null,
    WorkingDir: c.WorkingDir ?? '',
    Entrypoint: c.Entrypoint ?? null,
    OnBuild: c.OnBuild ?? null,
    Labels: c.Labels ?? null,
    StopSignal: c.StopSignal,
  };
}

export function toDockerInspect(rec: ImageRecord): DockerImageInspect {
  const history = rec.config.history ?? [];
  const lowers = rec.layers.map((l) => l.dir).reverse();
  const out: DockerImageInspect = {
    Id: rec.id,
    RepoTags: rec.repoTags,
    RepoDigests: rec.repoDigests,
    Parent: '',
    Comment: history[history.length - 1]?.comment ?? '',
    Created: rec.created || '0001-01-01T00:00:00Z',
    Container: '',
    ContainerConfig: dockerContainerConfig({ ...rec, config: { ...rec.config, config: {} } }),
    DockerVersion: '',
    Author: rec.config.author ?? '',
    Config: dockerContainerConfig(rec),
    Architecture: rec.config.architecture,
    Os: rec.config.os,
    Size: rec.size,
    VirtualSize: rec.size,
    GraphDriver: { Name: 'overlay2', Data: lowers.length === 0 ? null : { LowerDir: lowers.join(':') } },
    RootFS: { Type: 'layers', Layers: rec.layers.map((l) => l.diffId) },
    Metadata: { LastTagTime: rec.lastTagTime || '0001-01-01T00:00:00Z' },
  };
  if (rec.config.variant !== undefined) out.Variant = rec.config.variant;
  return out;
}

export function toDockerSummary(rec: ImageRecord, containers = -1): DockerImageSummary {
  const t = Date.parse(rec.created);
  return {
    Id: rec.id,
    ParentId: '',
    RepoTags: rec.repoTags,
    RepoDigests: rec.repoDigests,
    Created: Number.isFinite(t) ? Math.floor(t / 1000) : 0,
    Size: rec.size,
    SharedSize: -1,
    VirtualSize: rec.size,
    Labels: rec.config.config?.Labels ?? {},
    Containers: containers,
  };
}
