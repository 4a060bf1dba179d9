/**
 * A swarm Task as a container, pure: the container's name, its labels and the Docker create body, as
 * moby's swarm executor builds them (daemon/cluster/executor/container/container.go). No I/O here; the
 * EngineExecutor hands the result to the engine.
 */
import type { Task } from '../../manager/store/index.js';
import type { ContainerCreateBody, HostConfig, MountSpec } from '../engine/container/types.js';

export const LABEL_SERVICE_ID = 'com.docker.swarm.service.id';
export const LABEL_SERVICE_NAME = 'com.docker.swarm.service.name';
export const LABEL_TASK = 'com.docker.swarm.task';
export const LABEL_TASK_ID = 'com.docker.swarm.task.id';
export const LABEL_TASK_NAME = 'com.docker.swarm.task.name';
export const LABEL_NODE_ID = 'com.docker.swarm.node.id';
export const LABEL_STACK_NAMESPACE = 'com.docker.stack.namespace';

/** Docker's container name of a task: `<service>.<slot>.<taskID>`; global tasks `<service>.<nodeID>.<taskID>`. */
export function containerName(task: Task): string {
  const slot = task.Slot > 0 ? String(task.Slot) : task.NodeID;
  return `${task.ServiceAnnotations.Name}.${slot}.${task.ID}`;
}

/** The swarm labels plus the spec's container labels (the swarm's win on a clash, as in moby). */
export function containerLabels(task: Task): Record<string, string> {
  const labels: Record<string, string> = { ...(task.Spec.ContainerSpec.Labels ?? {}) };
  const stack = task.ServiceAnnotations.Labels?.[LABEL_STACK_NAMESPACE];
  if (stack !== undefined && labels[LABEL_STACK_NAMESPACE] === undefined) labels[LABEL_STACK_NAMESPACE] = stack;
  labels[LABEL_TASK] = '';
  labels[LABEL_TASK_ID] = task.ID;
  labels[LABEL_TASK_NAME] = containerName(task);
  labels[LABEL_NODE_ID] = task.NodeID;
  labels[LABEL_SERVICE_ID] = task.ServiceID;
  labels[LABEL_SERVICE_NAME] = task.ServiceAnnotations.Name;
  return labels;
}

/** Docker's default stop grace period for swarm tasks: 10 s. */
export const DEFAULT_STOP_GRACE_NS = 10_000_000_000;

export function stopGraceSeconds(task: Task): number {
  const ns = task.Spec.ContainerSpec.StopGracePeriod;
  return (typeof ns === 'number' && ns >= 0 ? ns : DEFAULT_STOP_GRACE_NS) / 1e9;
}

/** Host-mode published ports of the task (ingress ports go through the routing mesh, not here). */
export function hostModePorts(task: Task): { TargetPort: number; PublishedPort: number; Protocol: 'tcp' | 'udp' | 'sctp' }[] {
  const ports = task.Endpoint?.Ports ?? [];
  return ports
    .filter((p) => p.PublishMode === 'host')
    .map((p) => ({ TargetPort: p.TargetPort, PublishedPort: p.PublishedPort ?? 0, Protocol: p.Protocol ?? 'tcp' }));
}

/** A network the container joins, with the address the manager allocated to the task on it. */
export interface ContainerNetwork {
  /** the engine-side network name or ID */
  network: string;
  /** IPv4 address without the prefix length */
  address?: string;
  aliases: string[];
  /** an --internal overlay: no way out of the swarm through it */
  internal?: boolean;
}

export interface CreatePlan {
  name: string;
  body: ContainerCreateBody;
}

/**
 * The create body. The container's network mode is the default bridge (its way out and the home of
 * host-mode published ports, as Docker's docker_gwbridge) — unless every network of the task is an
 * --internal overlay; `networks` are the overlays the task is attached to, each joined at start with
 * the address the manager allocated.
 */
export function createPlan(task: Task, networks: readonly ContainerNetwork[] = []): CreatePlan {
  const c = task.Spec.ContainerSpec;
  const limits = task.Spec.Resources?.Limits;
  const hc: HostConfig = {};
  if (limits?.MemoryBytes) hc.Memory = limits.MemoryBytes;
  if (limits?.NanoCPUs) hc.NanoCpus = limits.NanoCPUs;
  if (limits?.Pids) hc.PidsLimit = limits.Pids;
  if (c.ReadOnly) hc.ReadonlyRootfs = true;
  const mounts: MountSpec[] = (c.Mounts ?? []).map((m) => ({
    Type: m.Type,
    ...(m.Source !== undefined && m.Source !== '' ? { Source: m.Source } : {}),
    Target: m.Target,
    ...(m.ReadOnly ? { ReadOnly: true } : {}),
    ...(m.TmpfsOptions ? { TmpfsOptions: { ...m.TmpfsOptions } } : {}),
  }));
  if (mounts.length) hc.Mounts = mounts;
  const ports = hostModePorts(task);
  const exposed: Record<string, object> = {};
  if (ports.length) {
    hc.PortBindings = {};
    for (const p of ports) {
      const key = `${p.TargetPort}/${p.Protocol}`;
      exposed[key] = {};
      (hc.PortBindings[key] ??= []).push({ HostIp: '', HostPort: p.PublishedPort ? String(p.PublishedPort) : '' });
    }
  }
  // a task only on --internal overlays gets no default bridge (no way out, as Docker gives it no docker_gwbridge):
  // its first overlay is its network mode, and the engine adds the bridge only next to a non-internal network
  hc.NetworkMode = networks.length > 0 && networks.every((n) => n.internal) ? networks[0]!.network : 'bridge';
  const body: ContainerCreateBody = {
    Image: c.Image,
    Labels: containerLabels(task),
    HostConfig: hc,
    StopTimeout: Math.ceil(stopGraceSeconds(task)),
  };
  if (c.Command?.length) body.Entrypoint = [...c.Command];
  if (c.Args?.length) body.Cmd = [...c.Args];
  if (c.Env?.length) body.Env = [...c.Env];
  if (c.User) body.User = c.User;
  if (c.Dir) body.WorkingDir = c.Dir;
  if (c.Hostname) body.Hostname = c.Hostname;
  if (c.TTY) body.Tty = true;
  if (c.StopSignal) body.StopSignal = c.StopSignal;
  if (c.Healthcheck) {
    const h = c.Healthcheck;
    body.Healthcheck = {
      ...(h.Test ? { Test: [...h.Test] } : {}),
      ...(h.Interval ? { Interval: h.Interval } : {}),
      ...(h.Timeout ? { Timeout: h.Timeout } : {}),
      ...(h.Retries ? { Retries: h.Retries } : {}),
      ...(h.StartPeriod ? { StartPeriod: h.StartPeriod } : {}),
    };
  }
  if (ports.length) body.ExposedPorts = exposed;
  if (networks.length) {
    body.NetworkingConfig = { EndpointsConfig: {} };
    for (const n of networks) {
      body.NetworkingConfig.EndpointsConfig![n.network] = {
        Aliases: [...n.aliases],
        ...(n.address ? { IPAMConfig: { IPv4Address: n.address } } : {}),
      };
    }
  }
  return { name: containerName(task), body };
}

/** Whether the health check is switched off (`--no-healthcheck` gives Test ["NONE"]). */
export function healthDisabled(test: readonly string[] | undefined): boolean {
  return test?.[0] === 'NONE';
}

/** What a template placeholder may name about the node (the task says the rest). */
export interface TemplateNode {
  hostname: string;
  os?: string;
  architecture?: string;
}

/**
 * Docker's service templates in hostname, env and mounts: {{.Service.ID}}, {{.Service.Name}},
 * {{index .Service.Labels "k"}}, {{.Node.ID}}, {{.Node.Hostname}}, {{.Node.Platform.OS}},
 * {{.Node.Platform.Architecture}}, {{.Task.ID}}, {{.Task.Name}}, {{.Task.Slot}}. Anything else is left as
 * written.
 */
export function expandTemplate(text: string, task: Task, node: TemplateNode): string {
  if (!text.includes('{{')) return text;
  const values: Record<string, string> = {
    'Service.ID': task.ServiceID,
    'Service.Name': task.ServiceAnnotations.Name,
    'Node.ID': task.NodeID,
    'Node.Hostname': node.hostname,
    'Node.Platform.OS': node.os ?? 'linux',
    'Node.Platform.Architecture': node.architecture ?? 'x86_64',
    'Task.ID': task.ID,
    'Task.Name': containerName(task),
    'Task.Slot': task.Slot > 0 ? String(task.Slot) : task.NodeID,
  };
  return text
    .replace(/\{\{\s*\.([A-Za-z.]+)\s*\}\}/g, (all, key: string) => values[key] ?? all)
    .replace(/\{\{\s*index\s+\.Service\.Labels\s+"([^"]*)"\s*\}\}/g, (all, k: string) => task.ServiceAnnotations.Labels?.[k] ?? all);
}

/** The task with templates in its hostname, env and mount sources/targets expanded. */
export function expandTaskTemplates(task: Task, node: TemplateNode): Task {
  const c = task.Spec.ContainerSpec;
  const x = (s: string): string => expandTemplate(s, task, node);
  const has = (s: string | undefined): boolean => s !== undefined && s.includes('{{');
  if (!has(c.Hostname) && !(c.Env ?? []).some(has) && !(c.Mounts ?? []).some((m) => has(m.Source) || has(m.Target))) return task;
  return {
    ...task,
    Spec: {
      ...task.Spec,
      ContainerSpec: {
        ...c,
        ...(c.Hostname !== undefined ? { Hostname: x(c.Hostname) } : {}),
        ...(c.Env ? { Env: c.Env.map(x) } : {}),
        ...(c.Mounts ? { Mounts: c.Mounts.map((m) => ({ ...m, ...(m.Source !== undefined ? { Source: x(m.Source) } : {}), Target: x(m.Target) })) } : {}),
      },
    },
  };
}
