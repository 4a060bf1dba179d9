/** `shoal run` flags → Docker's POST /containers/create body. */

export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

export interface RunFlags {
  detach?: boolean;
  rm?: boolean;
  env?: string[];
  publish?: string[];
  volume?: string[];
  name?: string;
  memory?: string;
  cpus?: string;
  network?: string;
  interactive?: boolean;
  tty?: boolean;
  restart?: string;
  entrypoint?: string;
  workdir?: string;
  user?: string;
  hostname?: string;
  label?: string[];
  healthCmd?: string;
  healthInterval?: string;
  healthRetries?: string;
  healthTimeout?: string;
  pidsLimit?: string;
  tmpfs?: string[];
}

export function parseBytes(v: string): number {
  const m = /^(\d+(?:\.\d+)?)([bkmg])?b?$/i.exec(v.trim());
  if (!m) throw new FlagError(`invalid size: ${v} (e.g. 64m, 1g)`);
  const mult = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b' | 'k' | 'm' | 'g'];
  return Math.floor(Number(m[1]) * mult);
}

export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v.trim());
  if (!m) throw new FlagError(`invalid duration: ${v} (e.g. 500ms, 5s, 1m)`);
  const mult = { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * mult);
}

/** `[ip:][hostPort:]containerPort[/proto]` → PortBindings and ExposedPorts entries. */
export function parsePublish(spec: string): { key: string; binding: { HostIp: string; HostPort: string } } {
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(?:(\d*):)?(\d+)(?:\/(tcp|udp))?$/.exec(spec);
  if (!m) throw new FlagError(`invalid publish spec: ${spec} (expected [ip:][hostPort:]containerPort[/tcp|udp])`);
  const cport = Number(m[3]);
  const hport = m[2] ? Number(m[2]) : 0;
  if (cport < 1 || cport > 65535 || hport > 65535) throw new FlagError(`invalid port in ${spec}: ports are 1-65535`);
  return { key: `${cport}/${m[4] ?? 'tcp'}`, binding: { HostIp: m[1] ?? '', HostPort: m[2] ?? '' } };
}

export function parseRestart(v: string): { Name: string; MaximumRetryCount: number } {
  const [name, count] = v.split(':');
  if (!['no', 'always', 'unless-stopped', 'on-failure'].includes(name ?? '')) throw new FlagError(`invalid restart policy: ${v}`);
  const c = count === undefined ? 0 : Number(count);
  if (!Number.isInteger(c) || c < 0) throw new FlagError(`invalid restart retry count: ${v}`);
  return { Name: name!, MaximumRetryCount: c };
}

export function createBody(image: string, cmd: string[], f: RunFlags): Record<string, unknown> {
  const portBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  const exposed: Record<string, object> = {};
  for (const p of f.publish ?? []) {
    const { key, binding } = parsePublish(p);
    (portBindings[key] ??= []).push(binding);
    exposed[key] = {};
  }
  const labels: Record<string, string> = {};
  for (const l of f.label ?? []) {
    const i = l.indexOf('=');
    labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  const tmpfs: Record<string, string> = {};
  for (const t of f.tmpfs ?? []) {
    const i = t.indexOf(':');
    tmpfs[i < 0 ? t : t.slice(0, i)] = i < 0 ? '' : t.slice(i + 1);
  }
  const hostConfig: Record<string, unknown> = {
    Binds: f.volume ?? [],
    PortBindings: portBindings,
    NetworkMode: f.network ?? 'default',
    AutoRemove: f.rm === true,
    RestartPolicy: f.restart ? parseRestart(f.restart) : { Name: 'no', MaximumRetryCount: 0 },
    Tmpfs: tmpfs,
  };
  if (f.memory) hostConfig['Memory'] = parseBytes(f.memory);
  if (f.cpus) {
    const c = Number(f.cpus);
    if (!(c > 0)) throw new FlagError(`invalid --cpus: ${f.cpus}`);
    hostConfig['NanoCpus'] = Math.round(c * 1e9);
  }
  if (f.pidsLimit) hostConfig['PidsLimit'] = Number(f.pidsLimit);
  const body: Record<string, unknown> = {
    Image: image,
    Cmd: cmd.length > 0 ? cmd : null,
    Env: f.env ?? [],
    Tty: f.tty === true,
    OpenStdin: f.interactive === true,
    StdinOnce: f.interactive === true,
    AttachStdin: f.interactive === true && !f.detach,
    AttachStdout: !f.detach,
    AttachStderr: !f.detach,
    Labels: labels,
    ExposedPorts: exposed,
    HostConfig: hostConfig,
  };
  if (f.entrypoint !== undefined) body['Entrypoint'] = f.entrypoint === '' ? [''] : [f.entrypoint];
  if (f.workdir) body['WorkingDir'] = f.workdir;
  if (f.user) body['User'] = f.user;
  if (f.hostname) body['Hostname'] = f.hostname;
  if (f.healthCmd) {
    body['Healthcheck'] = {
      Test: ['CMD-SHELL', f.healthCmd],
      ...(f.healthInterval ? { Interval: parseDuration(f.healthInterval) } : {}),
      ...(f.healthTimeout ? { Timeout: parseDuration(f.healthTimeout) } : {}),
      ...(f.healthRetries ? { Retries: Number(f.healthRetries) } : {}),
    };
  }
  return body;
}
