/** Docker's JSON views of a container: GET /containers/{id}/json and one row of GET /containers/json. */
import type { Attachment } from '../network/index.js';
import { toNetworkSettings, toPortList } from '../network/index.js';
import { labelMatches } from '../volume/volume-store.js';
import type { ContainerRecord } from './types.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';

function exposedPorts(r: ContainerRecord, imageExposed: Record<string, object> | undefined): string[] {
  const keys = new Set([...Object.keys(imageExposed ?? {}), ...Object.keys(r.config.ExposedPorts ?? {})]);
  for (const k of Object.keys(r.config.HostConfig?.PortBindings ?? {})) keys.add(k);
  return [...keys];
}

function mountsView(r: ContainerRecord): Record<string, unknown>[] {
  return r.mounts.map((m) => ({
    Type: m.type,
    ...(m.type === 'volume' ? { Name: m.source, Driver: 'local' } : {}),
    Source: m.hostPath ?? '',
    Destination: m.destination,
    Mode: m.type === 'bind' ? (m.readOnly ? 'ro' : '') : m.type === 'volume' ? 'z' : '',
    RW: !m.readOnly,
    Propagation: m.type === 'bind' ? 'rprivate' : '',
  }));
}

export function inspectView(r: ContainerRecord, o: { attachment: Attachment | undefined; dir: string; logPath: string; driver: string; imageExposed?: Record<string, object> }): Record<string, unknown> {
  const s = r.state;
  const exposed = exposedPorts(r, o.imageExposed);
  const running = s.status === 'running' || s.status === 'restarting' || s.status === 'paused';
  const hc = r.config.HostConfig ?? {};
  return {
    Id: r.id,
    Created: r.created,
    Path: r.path,
    Args: r.args,
    State: {
      Status: s.status,
      Running: running,
      Paused: s.status === 'paused',
      Restarting: s.status === 'restarting',
      OOMKilled: s.oomKilled,
      Dead: s.status === 'dead',
      Pid: s.status === 'running' || s.status === 'paused' ? s.pid : 0,
      ExitCode: s.exitCode,
      Error: s.error,
      StartedAt: s.startedAt || ZERO_TIME,
      FinishedAt: s.finishedAt || ZERO_TIME,
      ...(s.health ? { Health: s.health } : {}),
    },
    Image: r.imageId,
    ResolvConfPath: `${o.dir}/resolv.conf`,
    HostnamePath: `${o.dir}/hostname`,
    HostsPath: `${o.dir}/hosts`,
    LogPath: o.logPath,
    Name: `/${r.name}`,
    RestartCount: r.restartCount,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: {
      Binds: hc.Binds ?? null,
      NetworkMode: hc.NetworkMode ?? 'default',
      PortBindings: hc.PortBindings ?? {},
      RestartPolicy: { Name: hc.RestartPolicy?.Name ?? 'no', MaximumRetryCount: hc.RestartPolicy?.MaximumRetryCount ?? 0 },
      AutoRemove: hc.AutoRemove === true,
      Memory: hc.Memory ?? 0,
      MemorySwap: hc.MemorySwap ?? 0,
      NanoCpus: hc.NanoCpus ?? 0,
      CpuShares: hc.CpuShares ?? 0,
      CpuQuota: hc.CpuQuota ?? 0,
      CpuPeriod: hc.CpuPeriod ?? 0,
      PidsLimit: hc.PidsLimit ?? null,
      Tmpfs: hc.Tmpfs ?? null,
      Mounts: hc.Mounts ?? null,
      CapAdd: hc.CapAdd ?? null,
      CapDrop: hc.CapDrop ?? null,
      Privileged: false,
      ReadonlyRootfs: hc.ReadonlyRootfs === true,
      LogConfig: { Type: 'k8s-file', Config: {} },
      Runtime: o.driver,
    },
    GraphDriver: { Name: 'overlay2', Data: { MergedDir: `${o.dir}/rootfs`, UpperDir: `${o.dir}/upper`, WorkDir: `${o.dir}/work` } },
    Mounts: mountsView(r),
    Config: {
      Hostname: r.hostname,
      Domainname: r.config.Domainname ?? '',
      User: r.config.User ?? '',
      AttachStdin: r.config.AttachStdin === true,
      AttachStdout: r.config.AttachStdout !== false,
      AttachStderr: r.config.AttachStderr !== false,
      ExposedPorts: exposed.length ? Object.fromEntries(exposed.map((p) => [p, {}])) : undefined,
      Tty: false,
      OpenStdin: r.config.OpenStdin === true,
      StdinOnce: r.config.StdinOnce === true,
      Env: r.env,
      Cmd: r.config.Cmd ?? null,
      Healthcheck: r.config.Healthcheck,
      Image: r.imageRef,
      Volumes: null,
      WorkingDir: r.config.WorkingDir ?? '',
      Entrypoint: r.config.Entrypoint ?? null,
      Labels: r.config.Labels ?? {},
      StopSignal: r.config.StopSignal,
      StopTimeout: r.config.StopTimeout ?? undefined,
    },
    NetworkSettings: toNetworkSettings(o.attachment, exposed),
  };
}

function statusText(r: ContainerRecord, now: number): string {
  const s = r.state;
  const ago = (iso: string): string => humanDuration(now - Date.parse(iso));
  switch (s.status) {
    case 'created':
      return 'Created';
    case 'running': {
      const h = s.health ? ` (${s.health.Status === 'starting' ? 'health: starting' : s.health.Status})` : '';
      return `Up ${humanDuration(now - Date.parse(s.startedAt))}${h}`;
    }
    case 'restarting':
      return `Restarting (${s.exitCode}) ${ago(s.finishedAt)} ago`;
    case 'exited':
      return `Exited (${s.exitCode}) ${ago(s.finishedAt)} ago`;
    default:
      return s.status;
  }
}

export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 1) return 'Less than a second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m < 60) return m === 1 ? 'About a minute' : `${m} minutes`;
  const h = Math.round(m / 60);
  if (h < 48) return h === 1 ? 'About an hour' : `${h} hours`;
  return `${Math.round(h / 24)} days`;
}

export function listRow(r: ContainerRecord, o: { attachment: Attachment | undefined; imageExposed?: Record<string, object> }): Record<string, unknown> {
  const exposed = exposedPorts(r, o.imageExposed);
  const ns = toNetworkSettings(o.attachment, exposed);
  return {
    Id: r.id,
    Names: [`/${r.name}`],
    Image: r.imageRef,
    ImageID: r.imageId,
    Command: [r.path, ...r.args].join(' '),
    Created: Math.floor(Date.parse(r.created) / 1000),
    Ports: toPortList(o.attachment, exposed),
    Labels: r.config.Labels ?? {},
    State: r.state.status,
    Status: statusText(r, Date.now()),
    HostConfig: { NetworkMode: r.config.HostConfig?.NetworkMode ?? 'default' },
    NetworkSettings: { Networks: ns.Networks },
    Mounts: mountsView(r),
  };
}

/** Docker's /containers/json filters: id, name, label, status, exited, ancestor, health, volume, network. */
export function listFilterMatches(r: ContainerRecord, f: Record<string, string[]>): boolean {
  const any = (k: string, pred: (v: string) => boolean): boolean => !f[k]?.length || f[k]!.some(pred);
  return (
    any('id', (v) => r.id.startsWith(v)) &&
    any('name', (v) => r.name.includes(v.replace(/^\//, ''))) &&
    (!f['label']?.length || f['label'].every((l) => labelMatches(r.config.Labels ?? {}, l))) &&
    any('status', (v) => r.state.status === v) &&
    any('exited', (v) => r.state.status === 'exited' && String(r.state.exitCode) === v) &&
    any('ancestor', (v) => r.imageRef === v || r.imageId === v || r.imageId.startsWith(v) || r.imageRef === `${v}:latest`) &&
    any('health', (v) => (r.state.health?.Status ?? 'none') === v) &&
    any('volume', (v) => r.mounts.some((m) => m.source === v || m.destination === v)) &&
    any('network', (v) => (r.config.HostConfig?.NetworkMode ?? 'default') === v)
  );
}
