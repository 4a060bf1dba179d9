/**
 * A checked compose model → the API objects of a stack, named and labelled as the docker CLI does
 * (`<stack>_<name>`, label com.docker.stack.namespace, service label com.docker.stack.image, networks
 * targeted by name with the service name as alias, `<stack>_default` for services without networks).
 * Pure: files (secret/config data, env_file) are read through the injected `read`.
 */
import { isAbsolute, join } from 'node:path';
import { ComposeError, type ComposeMap, type ComposeProject } from './stack-compose.js';

const NS_LABEL = 'com.docker.stack.namespace';
const isMap = (x: unknown): x is ComposeMap => typeof x === 'object' && x !== null && !Array.isArray(x);
const str = (x: unknown): string | undefined => (typeof x === 'string' ? x : typeof x === 'number' || typeof x === 'boolean' ? String(x) : undefined);

export interface NamedBody {
  /** the name the stack gives the object */
  name: string;
  /** declared external: must exist, is never created or removed */
  external: boolean;
  body: Record<string, unknown>;
}

export interface StackPlan {
  namespace: string;
  networks: NamedBody[];
  secrets: NamedBody[];
  configs: NamedBody[];
  services: { name: string; spec: Record<string, unknown> }[];
}

/** Go durations ("1m30s", "500ms") → nanoseconds. */
export function durationNs(v: unknown, where: string): number {
  if (typeof v === 'number') return Math.round(v * 1e9);
  const s = str(v) ?? '';
  if (s === '0') return 0;
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  let used = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(m[1]) * unit[m[2]!]!;
    used += m[0].length;
  }
  if (used === 0 || used !== s.length) throw new ComposeError(`${where}: invalid duration "${s}"`);
  return Math.round(total);
}

function bytes(v: unknown, where: string): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)i?b?$/i.exec(str(v) ?? '');
  if (!m) throw new ComposeError(`${where}: invalid size "${String(v)}"`);
  return Math.round(Number(m[1]) * 1024 ** 'bkmgt'.indexOf((m[2] || 'b').toLowerCase()));
}

/** Shell-like split of a string command (quotes and backslashes), as compose does. */
export function shellSplit(s: string, where: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new ComposeError(`${where}: unterminated quote`);
  if (inWord) out.push(cur);
  return out;
}

function strList(v: unknown, where: string, split = false): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return split ? shellSplit(v, where) : [v];
  if (Array.isArray(v)) return v.map((x, i) => str(x) ?? (() => { throw new ComposeError(`${where}[${i}]: must be a string`); })());
  throw new ComposeError(`${where}: must be a string or a list`);
}

function labelsOf(v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (Array.isArray(v)) return Object.fromEntries(v.map((x) => { const s = String(x); const i = s.indexOf('='); return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)]; }));
  if (isMap(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, str(x) ?? '']));
  throw new ComposeError(`${where}: must be a mapping or a list of KEY=VALUE`);
}

/** Ports: "8080:80", "80", "8080:80/udp", "8000-8001:80-81", or {target, published, protocol, mode}. */
export function parsePorts(v: unknown, where: string): Record<string, unknown>[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ComposeError(`${where}: must be a list`);
  const out: Record<string, unknown>[] = [];
  v.forEach((p, i) => {
    const w = `${where}[${i}]`;
    if (isMap(p)) {
      const target = Number(p.target);
      if (!Number.isInteger(target) || target < 1 || target > 65535) throw new ComposeError(`${w}.target: invalid port "${String(p.target)}"`);
      const published = p.published === undefined ? undefined : Number(p.published);
      if (published !== undefined && (!Number.isInteger(published) || published < 1 || published > 65535)) throw new ComposeError(`${w}.published: invalid port "${String(p.published)}"`);
      const mode = str(p.mode) ?? 'ingress';
      if (mode !== 'ingress' && mode !== 'host') throw new ComposeError(`${w}.mode: "${mode}" is not ingress or host`);
      out.push({ Protocol: str(p.protocol) ?? 'tcp', TargetPort: target, ...(published ? { PublishedPort: published } : {}), PublishMode: mode });
      return;
    }
    const s = str(p);
    const m = s === undefined ? null : /^(?:(?:\d+\.\d+\.\d+\.\d+|\[[0-9a-f:]+\]):)?(?:(\d+)(?:-(\d+))?:)?(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(s);
    if (!m) throw new ComposeError(`${w}: invalid port "${String(p)}" (expected [[ip:]published:]target[/protocol])`);
    const [pubLo, pubHi, tLo, tHi, proto] = [m[1], m[2], m[3]!, m[4], (m[5] ?? 'tcp').toLowerCase()];
    const targets = tHi ? range(Number(tLo), Number(tHi)) : [Number(tLo)];
    const pubs = pubLo ? (pubHi ? range(Number(pubLo), Number(pubHi)) : [Number(pubLo)]) : [];
    if (pubs.length > 0 && pubs.length !== targets.length) throw new ComposeError(`${w}: port ranges "${s}" differ in length`);
    for (const [j, t] of targets.entries()) {
      const pub = pubs[j];
      if (t < 1 || t > 65535 || (pub !== undefined && (pub < 1 || pub > 65535))) throw new ComposeError(`${w}: invalid port "${s}" (1-65535)`);
      out.push({ Protocol: proto, TargetPort: t, ...(pub ? { PublishedPort: pub } : {}), PublishMode: 'ingress' });
    }
  });
  return out;
}

function range(a: number, b: number): number[] {
  if (b < a) return [];
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

function updateConfig(v: unknown, where: string): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isMap(v)) throw new ComposeError(`${where}: must be a mapping`);
  const out: Record<string, unknown> = {};
  if (v.parallelism !== undefined) out.Parallelism = Number(v.parallelism);
  if (v.delay !== undefined) out.Delay = durationNs(v.delay, `${where}.delay`);
  if (v.failure_action !== undefined) out.FailureAction = str(v.failure_action);
  if (v.monitor !== undefined) out.Monitor = durationNs(v.monitor, `${where}.monitor`);
  if (v.max_failure_ratio !== undefined) out.MaxFailureRatio = Number(v.max_failure_ratio);
  if (v.order !== undefined) out.Order = str(v.order);
  return out;
}

export interface ConvertDeps {
  read: (path: string) => Buffer;
}

function readRel(p: ComposeProject, deps: ConvertDeps, file: string, where: string): Buffer {
  const path = isAbsolute(file) ? file : join(p.dir, file);
  try {
    return deps.read(path);
  } catch (e) {
    throw new ComposeError(`${where}: ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

function dataObjects(p: ComposeProject, deps: ConvertDeps, ns: string, section: 'secrets' | 'configs'): NamedBody[] {
  const top = p.model[section];
  if (!isMap(top)) return [];
  return Object.entries(top).map(([key, def]) => {
    const where = `${section}.${key}`;
    if (!isMap(def)) throw new ComposeError(`${where}: must be a mapping`);
    const external = def.external === true || isMap(def.external);
    const name = str(def.name) ?? (external ? key : `${ns}_${key}`);
    if (external) return { name, external, body: {} };
    if (typeof def.file !== 'string') throw new ComposeError(`${where}.file: a file is required (or external: true)`);
    const data = readRel(p, deps, def.file, `${where}.file`);
    return { name, external, body: { Name: name, Labels: { ...labelsOf(def.labels, `${where}.labels`), [NS_LABEL]: ns }, Data: data.toString('base64') } };
  });
}

function fileRefs(p: ComposeProject, svcName: string, v: unknown, kind: 'secrets' | 'configs', objs: NamedBody[]): Record<string, unknown>[] {
  if (v === undefined || v === null) return [];
  const where = `services.${svcName}.${kind}`;
  if (!Array.isArray(v)) throw new ComposeError(`${where}: must be a list`);
  const declared = p.model[kind];
  return v.map((r, i) => {
    const w = `${where}[${i}]`;
    const src = isMap(r) ? str(r.source) : str(r);
    if (!src) throw new ComposeError(`${w}: a source is required`);
    if (!isMap(declared) || !(src in declared)) throw new ComposeError(`${w}: ${kind.slice(0, -1)} "${src}" is not declared under top-level ${kind}`);
    const obj = objs.find((_, j) => Object.keys(declared)[j] === src)!;
    const target = (isMap(r) ? str(r.target) : undefined) ?? (kind === 'secrets' ? src : `/${src}`);
    const mode = isMap(r) && r.mode !== undefined ? (typeof r.mode === 'number' ? r.mode : parseInt(String(r.mode), 8)) : 0o444;
    const file = { Name: target, UID: (isMap(r) ? str(r.uid) : undefined) ?? '0', GID: (isMap(r) ? str(r.gid) : undefined) ?? '0', Mode: mode };
    return kind === 'secrets' ? { SecretName: obj.name, File: file } : { ConfigName: obj.name, File: file };
  });
}

/** The stack's objects, in Docker's names and shapes. */
export function convertStack(p: ComposeProject, ns: string, deps: ConvertDeps): StackPlan {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(ns)) throw new ComposeError(`stack name "${ns}" is invalid: [a-zA-Z0-9][a-zA-Z0-9_.-]*`);
  const m = p.model;
  const services = m.services as ComposeMap;
  const netDefs = isMap(m.networks) ? m.networks : {};
  const volDefs = isMap(m.volumes) ? m.volumes : {};
  const secrets = dataObjects(p, deps, ns, 'secrets');
  const configs = dataObjects(p, deps, ns, 'configs');

  const netName = (key: string): string => {
    const d = netDefs[key];
    const external = isMap(d) && (d.external === true || isMap(d.external));
    return (isMap(d) ? str(d.name) : undefined) ?? (external ? key : `${ns}_${key}`);
  };
  const usedNets = new Set<string>();
  const out: StackPlan = { namespace: ns, networks: [], secrets, configs, services: [] };

  for (const [name, raw] of Object.entries(services)) {
    const svc = raw as ComposeMap;
    const w = `services.${name}`;
    const deploy = isMap(svc.deploy) ? svc.deploy : {};
    // networks: a list or a mapping with aliases; none means the stack's default network
    let nets: { key: string; aliases: string[] }[] = [];
    if (Array.isArray(svc.networks)) nets = svc.networks.map((n) => ({ key: String(n), aliases: [] }));
    else if (isMap(svc.networks)) nets = Object.entries(svc.networks).map(([k, v]) => ({ key: k, aliases: isMap(v) ? strList(v.aliases, `${w}.networks.${k}.aliases`) : [] }));
    else if (svc.networks !== undefined && svc.networks !== null) throw new ComposeError(`${w}.networks: must be a list or a mapping`);
    if (nets.length === 0) nets = [{ key: 'default', aliases: [] }];
    for (const n of nets) {
      if (n.key !== 'default' && !(n.key in netDefs)) throw new ComposeError(`${w}.networks: network "${n.key}" is not declared under top-level networks`);
      usedNets.add(n.key);
    }
    // environment: env_file first, then environment
    const env: string[] = [];
    for (const f of strList(svc.env_file, `${w}.env_file`)) {
      for (const line of readRel(p, deps, f, `${w}.env_file`).toString('utf8').split('\n')) {
        const t = line.trim();
        if (t && !t.startsWith('#')) env.push(t);
      }
    }
    if (Array.isArray(svc.environment)) env.push(...svc.environment.map(String));
    else if (isMap(svc.environment)) for (const [k, v] of Object.entries(svc.environment)) env.push(v === null ? k : `${k}=${str(v) ?? ''}`);
    else if (svc.environment !== undefined && svc.environment !== null) throw new ComposeError(`${w}.environment: must be a list or a mapping`);
    // volumes
    const mounts = (Array.isArray(svc.volumes) ? svc.volumes : svc.volumes === undefined ? [] : (() => { throw new ComposeError(`${w}.volumes: must be a list`); })()).map((v, i) => {
      const vw = `${w}.volumes[${i}]`;
      if (isMap(v)) {
        const type = str(v.type) ?? 'volume';
        const source = str(v.source);
        return mountOf(type, source, str(v.target), v.read_only === true, vw);
      }
      const parts = String(v).split(':');
      if (parts.length === 1) return mountOf('volume', undefined, parts[0], false, vw);
      const [source, target, opts] = parts as [string, string, string | undefined];
      const type = source.startsWith('/') || source.startsWith('.') || source.startsWith('~') ? 'bind' : 'volume';
      return mountOf(type, source, target, (opts ?? '').split(',').includes('ro'), vw);
    });
    function mountOf(type: string, source: string | undefined, target: string | undefined, ro: boolean, vw: string): Record<string, unknown> {
      if (!target || !target.startsWith('/')) throw new ComposeError(`${vw}: the target must be an absolute path`);
      if (type === 'volume') {
        if (source && !(source in volDefs)) throw new ComposeError(`${vw}: volume "${source}" is not declared under top-level volumes`);
        const d = source ? volDefs[source] : undefined;
        const external = isMap(d) && (d.external === true || isMap(d.external));
        const vname = source ? ((isMap(d) ? str(d.name) : undefined) ?? (external ? source : `${ns}_${source}`)) : undefined;
        return { Type: 'volume', ...(vname ? { Source: vname } : {}), Target: target, ...(ro ? { ReadOnly: true } : {}), VolumeOptions: { Labels: { [NS_LABEL]: ns } } };
      }
      if (type === 'bind') return { Type: 'bind', Source: source && !isAbsolute(source) ? join(p.dir, source) : source, Target: target, ...(ro ? { ReadOnly: true } : {}) };
      if (type === 'tmpfs') return { Type: 'tmpfs', Target: target };
      throw new ComposeError(`${vw}.type: "${type}" is not volume, bind or tmpfs`);
    }
    // healthcheck
    let health: Record<string, unknown> | undefined;
    if (isMap(svc.healthcheck)) {
      const h = svc.healthcheck;
      const hw = `${w}.healthcheck`;
      if (h.disable === true) health = { Test: ['NONE'] };
      else {
        const test = typeof h.test === 'string' ? ['CMD-SHELL', h.test] : strList(h.test, `${hw}.test`);
        health = {
          ...(test.length ? { Test: test } : {}),
          ...(h.interval !== undefined ? { Interval: durationNs(h.interval, `${hw}.interval`) } : {}),
          ...(h.timeout !== undefined ? { Timeout: durationNs(h.timeout, `${hw}.timeout`) } : {}),
          ...(h.retries !== undefined ? { Retries: Number(h.retries) } : {}),
          ...(h.start_period !== undefined ? { StartPeriod: durationNs(h.start_period, `${hw}.start_period`) } : {}),
        };
      }
    }
    // deploy
    const mode = str(deploy.mode) ?? 'replicated';
    if (mode !== 'replicated' && mode !== 'global') throw new ComposeError(`${w}.deploy.mode: "${mode}" is not replicated or global`);
    if (deploy.replicas !== undefined && (!Number.isInteger(Number(deploy.replicas)) || Number(deploy.replicas) < 0)) throw new ComposeError(`${w}.deploy.replicas: "${String(deploy.replicas)}" is not a non-negative integer`);
    const placement = isMap(deploy.placement) ? deploy.placement : {};
    const res = isMap(deploy.resources) ? deploy.resources : {};
    const resOf = (r: unknown, rw: string) => (isMap(r) ? { ...(r.cpus !== undefined ? { NanoCPUs: Math.round(Number(r.cpus) * 1e9) } : {}), ...(r.memory !== undefined ? { MemoryBytes: bytes(r.memory, `${rw}.memory`) } : {}) } : {});
    const rp = isMap(deploy.restart_policy) ? deploy.restart_policy : undefined;
    const image = svc.image as string;
    const spec: Record<string, unknown> = {
      Name: `${ns}_${name}`,
      Labels: { ...labelsOf(deploy.labels, `${w}.deploy.labels`), 'com.docker.stack.image': image, [NS_LABEL]: ns },
      TaskTemplate: {
        ContainerSpec: {
          Image: image,
          Labels: { ...labelsOf(svc.labels, `${w}.labels`), [NS_LABEL]: ns },
          ...(svc.entrypoint !== undefined ? { Command: strList(svc.entrypoint, `${w}.entrypoint`, true) } : {}),
          ...(svc.command !== undefined ? { Args: strList(svc.command, `${w}.command`, true) } : {}),
          ...(env.length ? { Env: env } : {}),
          ...(svc.hostname !== undefined ? { Hostname: str(svc.hostname) } : {}),
          ...(svc.user !== undefined ? { User: str(svc.user) } : {}),
          ...(svc.working_dir !== undefined ? { Dir: str(svc.working_dir) } : {}),
          ...(svc.tty === true ? { TTY: true } : {}),
          ...(svc.read_only === true ? { ReadOnly: true } : {}),
          ...(svc.init === true ? { Init: true } : {}),
          ...(svc.stop_signal !== undefined ? { StopSignal: str(svc.stop_signal) } : {}),
          ...(svc.stop_grace_period !== undefined ? { StopGracePeriod: durationNs(svc.stop_grace_period, `${w}.stop_grace_period`) } : {}),
          ...(mounts.length ? { Mounts: mounts } : {}),
          ...(health ? { Healthcheck: health } : {}),
          ...(svc.secrets !== undefined ? { Secrets: fileRefs(p, name, svc.secrets, 'secrets', secrets) } : {}),
          ...(svc.configs !== undefined ? { Configs: fileRefs(p, name, svc.configs, 'configs', configs) } : {}),
        },
        Resources: { Limits: resOf(res.limits, `${w}.deploy.resources.limits`), Reservations: resOf(res.reservations, `${w}.deploy.resources.reservations`) },
        ...(rp
          ? {
              RestartPolicy: {
                ...(rp.condition !== undefined ? { Condition: str(rp.condition) } : {}),
                ...(rp.delay !== undefined ? { Delay: durationNs(rp.delay, `${w}.deploy.restart_policy.delay`) } : {}),
                ...(rp.max_attempts !== undefined ? { MaxAttempts: Number(rp.max_attempts) } : {}),
                ...(rp.window !== undefined ? { Window: durationNs(rp.window, `${w}.deploy.restart_policy.window`) } : {}),
              },
            }
          : {}),
        Placement: {
          ...(placement.constraints !== undefined ? { Constraints: strList(placement.constraints, `${w}.deploy.placement.constraints`) } : {}),
          ...(Array.isArray(placement.preferences) ? { Preferences: placement.preferences.map((x) => ({ Spread: { SpreadDescriptor: isMap(x) ? str(x.spread) : '' } })) } : {}),
          ...(placement.max_replicas_per_node !== undefined ? { MaxReplicas: Number(placement.max_replicas_per_node) } : {}),
        },
        Networks: nets.map((n) => ({ Target: netName(n.key), Aliases: [name, ...n.aliases] })),
      },
      Mode: mode === 'global' ? { Global: {} } : { Replicated: deploy.replicas !== undefined ? { Replicas: Number(deploy.replicas) } : {} },
      ...(updateConfig(deploy.update_config, `${w}.deploy.update_config`) ? { UpdateConfig: updateConfig(deploy.update_config, `${w}.deploy.update_config`) } : {}),
      ...(updateConfig(deploy.rollback_config, `${w}.deploy.rollback_config`) ? { RollbackConfig: updateConfig(deploy.rollback_config, `${w}.deploy.rollback_config`) } : {}),
      EndpointSpec: { ...(deploy.endpoint_mode !== undefined ? { Mode: str(deploy.endpoint_mode) } : {}), Ports: parsePorts(svc.ports, `${w}.ports`) },
    };
    out.services.push({ name: `${ns}_${name}`, spec });
  }

  for (const key of [...usedNets].sort()) {
    const d = netDefs[key];
    const external = isMap(d) && (d.external === true || isMap(d.external));
    const def = isMap(d) ? d : {};
    out.networks.push({
      name: netName(key),
      external,
      body: {
        Name: netName(key),
        Driver: str(def.driver) ?? 'overlay',
        Labels: { ...labelsOf(def.labels, `networks.${key}.labels`), [NS_LABEL]: ns },
        Attachable: def.attachable === true,
        Internal: def.internal === true,
        Options: isMap(def.driver_opts) ? labelsOf(def.driver_opts, `networks.${key}.driver_opts`) : {},
        CheckDuplicate: true,
        ...(isMap(def.ipam) && Array.isArray(def.ipam.config)
          ? { IPAM: { Driver: 'default', Config: def.ipam.config.map((c) => ({ Subnet: isMap(c) ? str(c.subnet) : undefined })) } }
          : {}),
      },
    });
  }
  return out;
}
