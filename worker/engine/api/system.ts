/** System endpoints: `/_ping` (GET and HEAD), `/version`, `/info`, `/system/df`. */
import { cpus, hostname, release, totalmem } from 'node:os';
import type { FastifyPluginAsync } from 'fastify';
import { inactiveSwarmInfo, type EngineApiDeps, type SwarmInfo } from './ports.js';
import { isRecord } from './route-helpers.js';
import { API_VERSION, MIN_API_VERSION } from './version-prefix.js';

const PING_HEADERS = {
  'Api-Version': API_VERSION,
  'Docker-Experimental': 'false',
  Ostype: 'linux',
  'Builder-Version': '1',
  'Cache-Control': 'no-cache, no-store, must-revalidate',
  Pragma: 'no-cache',
};

function arch(): string {
  return process.arch === 'x64' ? 'x86_64' : process.arch;
}

function countContainers(deps: EngineApiDeps): { total: number; running: number; paused: number; stopped: number } {
  const out = { total: 0, running: 0, paused: 0, stopped: 0 };
  if (!deps.containers) return out;
  const list = deps.containers.list({ all: true, filters: new Map() });
  if (!Array.isArray(list)) return out;
  for (const c of list) {
    out.total++;
    const s = isRecord(c) ? c['State'] : undefined;
    if (s === 'running') out.running++;
    else if (s === 'paused') out.paused++;
    else out.stopped++;
  }
  return out;
}

export function versionBody(deps: EngineApiDeps): Record<string, unknown> {
  const goArch = process.arch === 'x64' ? 'amd64' : process.arch;
  return {
    Platform: { Name: 'shoal engine' },
    Components: [{ Name: 'Engine', Version: deps.info.version, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: goArch, KernelVersion: release(), Experimental: 'false' } }],
    Version: deps.info.version,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: 'shoal',
    GoVersion: `node${process.versions.node}`,
    Os: 'linux',
    Arch: goArch,
    KernelVersion: release(),
    Experimental: false,
    BuildTime: deps.info.startedAt.toISOString(),
  };
}

export function infoBody(deps: EngineApiDeps, swarm: SwarmInfo = inactiveSwarmInfo()): Record<string, unknown> {
  const c = countContainers(deps);
  const images = deps.images ? deps.images.list().length : 0;
  return {
    ID: deps.info.name,
    Containers: c.total,
    ContainersRunning: c.running,
    ContainersPaused: c.paused,
    ContainersStopped: c.stopped,
    Images: images,
    Driver: 'overlay2',
    DriverStatus: [['Backing Filesystem', 'extfs']],
    Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Authorization: null, Log: ['k8s-file'] },
    MemoryLimit: true,
    SwapLimit: false,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    IPv4Forwarding: true,
    Debug: false,
    NFd: 0,
    OomKillDisable: false,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'k8s-file',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: '1',
    NEventsListener: 0,
    KernelVersion: release(),
    OperatingSystem: 'Linux',
    OSVersion: '',
    OSType: 'linux',
    Architecture: arch(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: { AllowNondistributableArtifactsCIDRs: null, AllowNondistributableArtifactsHostnames: null, InsecureRegistryCIDRs: ['127.0.0.0/8'], IndexConfigs: {}, Mirrors: null },
    NCPU: cpus().length,
    MemTotal: totalmem(),
    GenericResources: null,
    DockerRootDir: deps.info.dataRoot,
    HttpProxy: '',
    HttpsProxy: '',
    NoProxy: '',
    Name: hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: deps.info.version,
    Runtimes: { [deps.info.runtime]: { path: deps.info.runtime } },
    DefaultRuntime: deps.info.runtime,
    Swarm: swarm,
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: '',
    ContainerdCommit: { ID: '', Expected: '' },
    RuncCommit: { ID: '', Expected: '' },
    InitCommit: { ID: '', Expected: '' },
    SecurityOptions: ['name=seccomp,profile=default'],
    Warnings: [],
  };
}

/** The swarm provider's view, or Docker's inactive shape when there is none. */
export async function swarmInfo(deps: EngineApiDeps): Promise<SwarmInfo> {
  return deps.swarm ? await deps.swarm.swarmInfo() : inactiveSwarmInfo();
}

/** Docker's `Swarm` ping header: the node state, with `/manager` or `/worker` appended when active. */
export function pingSwarmHeader(s: SwarmInfo): string {
  if (s.LocalNodeState === '') return 'inactive';
  if (s.LocalNodeState !== 'active') return s.LocalNodeState;
  return `active/${s.ControlAvailable ? 'manager' : 'worker'}`;
}

export function systemRoutes(deps: EngineApiDeps): FastifyPluginAsync {
  return async (app) => {
    // HEAD /_ping comes from fastify's automatic HEAD route: same headers, no body.
    app.get('/_ping', async (_req, reply) => {
      void reply.headers(PING_HEADERS).header('Swarm', pingSwarmHeader(await swarmInfo(deps))).header('Content-Type', 'text/plain; charset=utf-8');
      return 'OK';
    });
    app.get('/version', async () => versionBody(deps));
    app.get('/info', async () => infoBody(deps, await swarmInfo(deps)));
    app.get('/system/df', async () => {
      const images = deps.images?.list() ?? [];
      const containers = deps.containers?.list({ all: true, filters: new Map() });
      const volumes = deps.volumes ? await deps.volumes.list() : [];
      return {
        LayersSize: images.reduce((a, i) => a + i.size, 0),
        Images: images.map((i) => ({ Id: i.id, ParentId: '', RepoTags: i.repoTags, RepoDigests: i.repoDigests, Created: Math.floor(Date.parse(i.created) / 1000) || 0, Size: i.size, SharedSize: -1, VirtualSize: i.size, Labels: {}, Containers: -1 })),
        Containers: Array.isArray(containers) ? containers : [],
        Volumes: Array.isArray(volumes) ? volumes : isRecord(volumes) && Array.isArray(volumes['Volumes']) ? volumes['Volumes'] : [],
        BuildCache: [],
      };
    });
  };
}
