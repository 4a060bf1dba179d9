/**
 * ServiceSpec validation and Docker's defaults. `validateServiceSpec` takes the JSON body as it came and
 * either returns a normalised spec (defaults filled in where the daemon fills them) or throws a
 * ValidationError (HTTP 400) whose message names the field and the problem. Pure.
 */
import { ConstraintError, parseConstraint } from '../scheduler/constraint.js';
import type { ConfigReference, SecretReference, ServiceSpec, UpdateConfig } from '../store/index.js';

export class ValidationError extends Error {
  readonly status: number;
  constructor(message: string, status = 400) {
    super(message);
    this.name = 'ValidationError';
    this.status = status;
  }
}

const NS = 1_000_000_000;

/** SwarmKit's api/defaults for UpdateConfig and RollbackConfig, in Docker's units (ns). */
export function defaultUpdateConfig(): Required<UpdateConfig> {
  return { Parallelism: 1, Delay: 0, FailureAction: 'pause', Monitor: 5 * NS, MaxFailureRatio: 0, Order: 'stop-first' };
}

/** SwarmKit's default restart policy: condition any, delay 5 s, unlimited attempts. */
export const DEFAULT_RESTART_POLICY = { Condition: 'any' as const, Delay: 5 * NS, MaxAttempts: 0 };

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const fail = (msg: string): never => {
  throw new ValidationError(msg);
};

function int(x: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (x === undefined || x === null) return undefined;
  if (typeof x !== 'number' || !Number.isInteger(x)) return fail(`${field}: ${JSON.stringify(x)} is not an integer`);
  if (x < min) return fail(`${field}: ${x} must be ${min === 0 ? 'non-negative' : `at least ${min}`}`);
  if (x > max) return fail(`${field}: ${x} must be at most ${max}`);
  return x;
}

/** Shape checks that need no store (part of validateServiceSpec). Returns the references, normalised. */
function checkRefShapes<K extends 'Secrets' | 'Configs'>(list: unknown, kind: K): (K extends 'Secrets' ? SecretReference : ConfigReference)[] | undefined {
  if (list === undefined || list === null) return undefined;
  const field = `TaskTemplate.ContainerSpec.${kind}`;
  if (!Array.isArray(list)) return fail(`${field}: must be a list`);
  const idKey = kind === 'Secrets' ? 'SecretID' : 'ConfigID';
  const nameKey = kind === 'Secrets' ? 'SecretName' : 'ConfigName';
  return list.map((r: unknown, i: number) => {
    const f = `${field}[${i}]`;
    if (!isObj(r)) return fail(`${f}: must be an object`);
    const id = r[idKey] ?? '';
    const name = r[nameKey] ?? '';
    if (typeof id !== 'string' || typeof name !== 'string') return fail(`${f}: ${idKey} and ${nameKey} must be strings`);
    if (id === '' && name === '') return fail(`${f}: malformed ${kind === 'Secrets' ? 'secret' : 'config'} reference, ${idKey} or ${nameKey} is required`);
    const out: Record<string, unknown> = { ...r, [idKey]: id, [nameKey]: name };
    if (r.File !== undefined && r.File !== null) {
      if (!isObj(r.File)) return fail(`${f}.File: must be an object`);
      const file = r.File;
      if (typeof file.Name !== 'string' || file.Name === '') return fail(`${f}.File.Name: malformed file reference, invalid target file name provided`);
      if (file.Name.includes('\0') || file.Name.split('/').includes('..')) return fail(`${f}.File.Name: ${JSON.stringify(file.Name)} may not contain '..' or NUL`);
      for (const k of ['UID', 'GID'] as const) {
        if (file[k] !== undefined && (typeof file[k] !== 'string' || !/^\d*$/.test(file[k] as string))) return fail(`${f}.File.${k}: ${JSON.stringify(file[k])} is not a numeric string`);
      }
      if (file.Mode !== undefined && (typeof file.Mode !== 'number' || !Number.isInteger(file.Mode) || file.Mode < 0 || file.Mode > 0o7777)) {
        return fail(`${f}.File.Mode: ${JSON.stringify(file.Mode)} is not a file mode (0 to 0o7777)`);
      }
      out.File = { Name: file.Name, UID: (file.UID as string) || '0', GID: (file.GID as string) || '0', Mode: (file.Mode as number | undefined) ?? 0o444 };
    } else if (kind === 'Configs' && isObj(r.Runtime)) {
      out.Runtime = {};
    } else {
      delete out.File; // filled in once the name is known (service-refs.ts)
    }
    return out as never;
  });
}

/** SwarmKit's isValidName: a DNS name component, '-' and '_' inside (stack services are NAME_svc). */
const SVC_NAME = /^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$/;

function updateConfig(x: unknown, field: string): UpdateConfig | undefined {
  if (x === undefined || x === null) return undefined;
  if (!isObj(x)) return fail(`${field}: must be an object`);
  const out: UpdateConfig = { ...(x as UpdateConfig) };
  int(x.Parallelism, `${field}.Parallelism`, 0);
  int(x.Delay, `${field}.Delay`, 0);
  int(x.Monitor, `${field}.Monitor`, 0);
  if (x.FailureAction !== undefined && x.FailureAction !== '' && !['pause', 'continue', 'rollback'].includes(String(x.FailureAction))) {
    fail(`${field}.FailureAction: ${JSON.stringify(x.FailureAction)} is not pause, continue or rollback`);
  }
  if (x.FailureAction === '') delete out.FailureAction;
  if (x.Order !== undefined && x.Order !== '' && !['stop-first', 'start-first'].includes(String(x.Order))) {
    fail(`${field}.Order: ${JSON.stringify(x.Order)} is not stop-first or start-first`);
  }
  if (x.Order === '') delete out.Order;
  if (x.MaxFailureRatio !== undefined && (typeof x.MaxFailureRatio !== 'number' || x.MaxFailureRatio < 0 || x.MaxFailureRatio > 1)) {
    fail(`${field}.MaxFailureRatio: ${JSON.stringify(x.MaxFailureRatio)} must be a number between 0 and 1`);
  }
  return out;
}

/** Validates a ServiceSpec body and fills the defaults the daemon fills. Throws ValidationError. */
export function validateServiceSpec(body: unknown): ServiceSpec {
  if (!isObj(body)) return fail('request body: a ServiceSpec object is required');
  const spec = structuredClone(body) as unknown as ServiceSpec & Record<string, unknown>;
  delete spec.version; // dockerode copies ?version into the body
  if (typeof spec.Name !== 'string' || spec.Name === '') fail('Name: a service name is required');
  if (spec.Name.length > 63 || !SVC_NAME.test(spec.Name)) fail(`Name: ${JSON.stringify(spec.Name)} is invalid: name must be valid as a DNS name component (letters, digits, '-' and '_' inside, at most 63 characters)`);
  if (spec.Labels !== undefined && spec.Labels !== null && !isObj(spec.Labels)) fail('Labels: must be an object of strings');

  // TaskTemplate
  const tt = spec.TaskTemplate as unknown;
  if (!isObj(tt)) return fail('TaskTemplate: required');
  if (!isObj(tt.ContainerSpec)) return fail('TaskTemplate.ContainerSpec: required');
  const image = tt.ContainerSpec.Image;
  if (typeof image !== 'string' || image.trim() === '') fail('TaskTemplate.ContainerSpec.Image: an image is required');
  if (/\s/.test(image as string)) fail(`TaskTemplate.ContainerSpec.Image: ${JSON.stringify(image)} is not a valid image reference`);
  int(tt.ContainerSpec.StopGracePeriod, 'TaskTemplate.ContainerSpec.StopGracePeriod', 0);
  const secrets = checkRefShapes(tt.ContainerSpec.Secrets, 'Secrets');
  const configs = checkRefShapes(tt.ContainerSpec.Configs, 'Configs');
  const cspec = (spec.TaskTemplate as { ContainerSpec: ServiceSpec['TaskTemplate']['ContainerSpec'] }).ContainerSpec;
  if (secrets) cspec.Secrets = secrets;
  else delete cspec.Secrets;
  if (configs) cspec.Configs = configs;
  else delete cspec.Configs;
  if (tt.RestartPolicy !== undefined && tt.RestartPolicy !== null) {
    const rp = tt.RestartPolicy;
    if (!isObj(rp)) fail('TaskTemplate.RestartPolicy: must be an object');
    const r = rp as Record<string, unknown>;
    if (r.Condition !== undefined && r.Condition !== '' && !['none', 'on-failure', 'any'].includes(String(r.Condition))) {
      fail(`TaskTemplate.RestartPolicy.Condition: ${JSON.stringify(r.Condition)} is not none, on-failure or any`);
    }
    int(r.Delay, 'TaskTemplate.RestartPolicy.Delay', 0);
    int(r.MaxAttempts, 'TaskTemplate.RestartPolicy.MaxAttempts', 0);
    int(r.Window, 'TaskTemplate.RestartPolicy.Window', 0);
  }
  if (isObj(tt.Resources)) {
    for (const k of ['Limits', 'Reservations'] as const) {
      const r = tt.Resources[k];
      if (isObj(r)) {
        int(r.NanoCPUs, `TaskTemplate.Resources.${k}.NanoCPUs`, 0);
        int(r.MemoryBytes, `TaskTemplate.Resources.${k}.MemoryBytes`, 0);
      }
    }
  }
  if (tt.Placement !== undefined && tt.Placement !== null) {
    if (!isObj(tt.Placement)) fail('TaskTemplate.Placement: must be an object');
    const p = tt.Placement as Record<string, unknown>;
    const cs = p.Constraints ?? [];
    if (!Array.isArray(cs)) fail('TaskTemplate.Placement.Constraints: must be a list of strings');
    (cs as unknown[]).forEach((c, i) => {
      try {
        parseConstraint(String(c));
      } catch (e) {
        if (e instanceof ConstraintError) fail(`TaskTemplate.Placement.Constraints[${i}]: ${e.message}`);
        throw e;
      }
    });
    int(p.MaxReplicas, 'TaskTemplate.Placement.MaxReplicas', 0);
    const prefs = p.Preferences ?? [];
    if (!Array.isArray(prefs)) fail('TaskTemplate.Placement.Preferences: must be a list');
    (prefs as unknown[]).forEach((x, i) => {
      const d = isObj(x) && isObj(x.Spread) ? x.Spread.SpreadDescriptor : undefined;
      if (typeof d !== 'string' || !/^(node|engine)\.labels\.\S+$/.test(d)) {
        fail(`TaskTemplate.Placement.Preferences[${i}].Spread.SpreadDescriptor: ${JSON.stringify(d)} must be node.labels.<name> or engine.labels.<name>`);
      }
    });
  }

  // Mode: exactly one; Replicated without Replicas = 1
  const mode = spec.Mode as unknown;
  if (mode === undefined || mode === null || (isObj(mode) && Object.keys(mode).length === 0)) {
    spec.Mode = { Replicated: { Replicas: 1 } };
  } else {
    if (!isObj(mode)) return fail('Mode: must be an object');
    const keys = Object.keys(mode).filter((k) => mode[k] !== null && mode[k] !== undefined);
    const known = ['Replicated', 'Global', 'ReplicatedJob', 'GlobalJob'];
    const unknown = keys.find((k) => !known.includes(k));
    if (unknown) fail(`Mode: unknown mode ${JSON.stringify(unknown)} (Replicated, Global, ReplicatedJob or GlobalJob)`);
    if (keys.length > 1) fail(`Mode: only one of ${keys.join(', ')} may be set`);
    if (keys.length === 0) spec.Mode = { Replicated: { Replicas: 1 } };
    else if (keys[0] === 'Replicated') {
      const r = mode.Replicated;
      if (!isObj(r)) return fail('Mode.Replicated: must be an object');
      const n = int(r.Replicas, 'Mode.Replicated.Replicas', 0);
      spec.Mode = { Replicated: { Replicas: n ?? 1 } };
    } else if (keys[0] === 'ReplicatedJob') {
      const r = mode.ReplicatedJob;
      if (!isObj(r)) return fail('Mode.ReplicatedJob: must be an object');
      const mc = int(r.MaxConcurrent, 'Mode.ReplicatedJob.MaxConcurrent', 0) ?? 1;
      const tc = int(r.TotalCompletions, 'Mode.ReplicatedJob.TotalCompletions', 0) ?? mc;
      spec.Mode = { ReplicatedJob: { MaxConcurrent: mc, TotalCompletions: tc } };
    } else if (keys[0] === 'Global') spec.Mode = { Global: {} };
    else spec.Mode = { GlobalJob: {} };
  }
  const isJob = spec.Mode.ReplicatedJob !== undefined || spec.Mode.GlobalJob !== undefined;

  const uc = updateConfig(spec.UpdateConfig, 'UpdateConfig');
  if (isJob && uc) fail('UpdateConfig: jobs cannot have an update config');
  if (uc) spec.UpdateConfig = uc;
  else delete spec.UpdateConfig;
  const rc = updateConfig(spec.RollbackConfig, 'RollbackConfig');
  if (rc) spec.RollbackConfig = rc;
  else delete spec.RollbackConfig;

  // EndpointSpec: Mode vip by default; ports in range, no duplicate published ports
  const es = (spec.EndpointSpec ?? {}) as unknown;
  if (!isObj(es)) return fail('EndpointSpec: must be an object');
  const emode = es.Mode === undefined || es.Mode === '' ? 'vip' : es.Mode;
  if (emode !== 'vip' && emode !== 'dnsrr') fail(`EndpointSpec.Mode: ${JSON.stringify(es.Mode)} is not vip or dnsrr`);
  const ports = es.Ports ?? [];
  if (!Array.isArray(ports)) return fail('EndpointSpec.Ports: must be a list');
  const seen = new Set<string>();
  const outPorts = (ports as unknown[]).map((p, i) => {
    const f = `EndpointSpec.Ports[${i}]`;
    if (!isObj(p)) return fail(`${f}: must be an object`);
    int(p.TargetPort, `${f}.TargetPort`, 1, 65535);
    if (p.TargetPort === undefined) fail(`${f}.TargetPort: required`);
    if (p.PublishedPort !== undefined && p.PublishedPort !== 0) int(p.PublishedPort, `${f}.PublishedPort`, 1, 65535);
    const proto = p.Protocol === undefined || p.Protocol === '' ? 'tcp' : p.Protocol;
    if (!['tcp', 'udp', 'sctp'].includes(String(proto))) fail(`${f}.Protocol: ${JSON.stringify(p.Protocol)} is not tcp, udp or sctp`);
    const pm = p.PublishMode === undefined || p.PublishMode === '' ? 'ingress' : p.PublishMode;
    if (pm !== 'ingress' && pm !== 'host') fail(`${f}.PublishMode: ${JSON.stringify(p.PublishMode)} is not ingress or host`);
    if (typeof p.PublishedPort === 'number' && p.PublishedPort > 0) {
      const k = `${String(proto)}/${p.PublishedPort}/${String(pm)}`;
      if (seen.has(k)) fail(`${f}.PublishedPort: port ${p.PublishedPort}/${String(proto)} is published more than once`);
      seen.add(k);
    }
    if (emode === 'dnsrr' && pm === 'ingress') fail(`${f}.PublishMode: ingress ports are not possible with EndpointSpec.Mode dnsrr`);
    return { ...p, Protocol: proto, PublishMode: pm } as NonNullable<ServiceSpec['EndpointSpec']>['Ports'] extends (infer P)[] | undefined ? P : never;
  });
  spec.EndpointSpec = { Mode: emode as 'vip' | 'dnsrr', ...(outPorts.length > 0 ? { Ports: outPorts } : {}) };
  return spec;
}

/** An update may not rename the service nor change its mode kind (Docker's messages). */
export function validateServiceUpdate(current: ServiceSpec, next: ServiceSpec): void {
  if (current.Name !== next.Name) fail(`Name: renaming services is not supported (${current.Name} → ${next.Name})`);
  const kind = (s: ServiceSpec): string => Object.keys(s.Mode)[0] ?? '';
  if (kind(current) !== kind(next)) fail(`Mode: service mode change is not allowed (${kind(current)} → ${kind(next)})`);
}

/** The spec with every default spelled out, as `GET /services/{id}?insertDefaults=true` shows it. */
export function insertDefaults(spec: ServiceSpec): ServiceSpec {
  const s = structuredClone(spec);
  const isJob = s.Mode.ReplicatedJob !== undefined || s.Mode.GlobalJob !== undefined;
  if (!isJob) {
    s.UpdateConfig = { ...defaultUpdateConfig(), ...(s.UpdateConfig ?? {}) };
    s.RollbackConfig = { ...defaultUpdateConfig(), ...(s.RollbackConfig ?? {}) };
  }
  s.TaskTemplate.RestartPolicy = {
    ...(isJob ? { ...DEFAULT_RESTART_POLICY, Condition: 'on-failure' as const } : DEFAULT_RESTART_POLICY),
    ...(s.TaskTemplate.RestartPolicy ?? {}),
  };
  s.TaskTemplate.ContainerSpec = { StopGracePeriod: 10 * NS, ...s.TaskTemplate.ContainerSpec };
  s.EndpointSpec = { Mode: 'vip', ...(s.EndpointSpec ?? {}) };
  return s;
}
