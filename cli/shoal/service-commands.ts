/**
 * `shoal service create|ls|ps|inspect|scale|update|rollback|rm|logs` with docker's flags and output. create,
 * scale, update and rollback wait for convergence unless -d, as docker does: poll the service, its
 * up-to-date tasks and the nodes every 200 ms, then watch for UpdateConfig.Monitor before "converged".
 */
import type { Command } from 'commander';
import type { ApiClient } from '../api-client.js';
import { asArray, asRecord, humanAgo, n, s, table } from './format.js';
import type { ClientOf } from './container-commands.js';
import { FlagError } from './run-flags.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** Go duration ("1s", "200ms", "1m30s", "0") → nanoseconds. */
export function parseDuration(v: string): number {
  if (v === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  let used = 0;
  for (const m of v.matchAll(re)) {
    total += Number(m[1]) * unit[m[2]!]!;
    used += m[0].length;
  }
  if (used !== v.length || used === 0) throw new FlagError(`invalid duration "${v}"`);
  return Math.round(total);
}

function kv(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list ?? []) {
    const i = l.indexOf('=');
    out[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  return out;
}

/** `-p 8080:80`, `-p 80`, `-p published=8080,target=80,protocol=udp,mode=host`. */
export function parsePublish(v: string): Record<string, unknown> {
  if (v.includes('=')) {
    const f = kv(v.split(','));
    const p: Record<string, unknown> = { Protocol: f['protocol'] ?? 'tcp', TargetPort: Number(f['target']), PublishMode: f['mode'] ?? 'ingress' };
    if (f['published']) p['PublishedPort'] = Number(f['published']);
    return p;
  }
  const m = /^(?:(\d+):)?(\d+)(?:\/(tcp|udp|sctp))?$/.exec(v);
  if (!m) throw new FlagError(`invalid publish "${v}": expected [published:]target[/protocol]`);
  return { Protocol: m[3] ?? 'tcp', TargetPort: Number(m[2]), ...(m[1] ? { PublishedPort: Number(m[1]) } : {}), PublishMode: 'ingress' };
}

/** `--secret s`, `--secret source=s,target=t,uid=0,gid=0,mode=0400` (and --config, whose target is a path). */
export function parseFileRef(kind: 'secret' | 'config', v: string): Record<string, unknown> {
  const f = v.includes('=') ? kv(v.split(',')) : { source: v };
  const source = f['source'] ?? f['src'];
  if (!source) throw new FlagError(`invalid --${kind} "${v}": source is required`);
  const mode = f['mode'] !== undefined ? parseInt(f['mode'], 8) : 0o444;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new FlagError(`invalid --${kind} "${v}": mode must be octal`);
  const target = f['target'] ?? (kind === 'secret' ? source : `/${source}`);
  return { [kind === 'secret' ? 'SecretName' : 'ConfigName']: source, File: { Name: target, UID: f['uid'] ?? '0', GID: f['gid'] ?? '0', Mode: mode } };
}

/** Applies --secret-add/--secret-rm (and configs) to a ContainerSpec (in place). */
function editFileRefs(cs: Record<string, unknown>, kind: 'secret' | 'config', add: string[] | undefined, rm: string[] | undefined): void {
  if (!add && !rm) return;
  const key = kind === 'secret' ? 'Secrets' : 'Configs';
  const nameKey = kind === 'secret' ? 'SecretName' : 'ConfigName';
  const idKey = kind === 'secret' ? 'SecretID' : 'ConfigID';
  const gone = new Set(rm ?? []);
  const keep = asArray(cs[key]).map(asRecord).filter((r) => !gone.has(s(r[nameKey])) && !gone.has(s(r[idKey])));
  const added = (add ?? []).map((v) => parseFileRef(kind, v));
  const targets = new Set(added.map((r) => s(asRecord(r['File'])['Name'])));
  cs[key] = [...keep.filter((r) => !targets.has(s(asRecord(r['File'])['Name']))), ...added];
}

function memBytes(v: string): number {
  const m = /^(\d+(?:\.\d+)?)([bkmg]?)b?$/i.exec(v);
  if (!m) throw new FlagError(`invalid memory "${v}"`);
  return Math.round(Number(m[1]) * { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase()]!);
}

interface UpdateFlags {
  updateParallelism?: string;
  updateDelay?: string;
  updateOrder?: string;
  updateFailureAction?: string;
  updateMonitor?: string;
  updateMaxFailureRatio?: string;
  rollbackParallelism?: string;
  rollbackDelay?: string;
  rollbackOrder?: string;
  rollbackFailureAction?: string;
  rollbackMonitor?: string;
  rollbackMaxFailureRatio?: string;
  restartCondition?: string;
  restartDelay?: string;
  restartMaxAttempts?: string;
  restartWindow?: string;
  reserveCpu?: string;
  reserveMemory?: string;
  limitCpu?: string;
  limitMemory?: string;
  replicasMaxPerNode?: string;
  stopGracePeriod?: string;
}

function addSpecFlags(c: Command): Command {
  for (const p of ['update', 'rollback']) {
    c.option(`--${p}-parallelism <n>`, `maximum number of tasks ${p}d simultaneously (0 to ${p} all at once)`)
      .option(`--${p}-delay <d>`, `delay between ${p}s`)
      .option(`--${p}-order <o>`, `${p} order (start-first|stop-first)`)
      .option(`--${p}-failure-action <a>`, `action on ${p} failure`)
      .option(`--${p}-monitor <d>`, `duration after each task ${p} to monitor for failure`)
      .option(`--${p}-max-failure-ratio <r>`, `failure rate to tolerate during an ${p}`);
  }
  return c
    .option('--restart-condition <c>', 'restart when condition is met (none|on-failure|any)')
    .option('--restart-delay <d>', 'delay between restart attempts')
    .option('--restart-max-attempts <n>', 'maximum number of restarts before giving up')
    .option('--restart-window <d>', 'window used to evaluate the restart policy')
    .option('--reserve-cpu <n>', 'reserve CPUs')
    .option('--reserve-memory <m>', 'reserve memory')
    .option('--limit-cpu <n>', 'limit CPUs')
    .option('--limit-memory <m>', 'limit memory')
    .option('--replicas-max-per-node <n>', 'maximum number of tasks per node (0 = unlimited)')
    .option('--stop-grace-period <d>', 'time to wait before force killing a container')
    .option('-d, --detach', 'exit immediately instead of waiting for the service to converge');
}

/** Applies the update/rollback/restart/resource flags to a spec (in place). */
function applySpecFlags(spec: Record<string, unknown>, f: UpdateFlags): void {
  const tt = asRecord(spec['TaskTemplate']);
  for (const p of ['update', 'rollback'] as const) {
    const get = (k: string): string | undefined => (f as Record<string, string | undefined>)[`${p}${k}`];
    const key = p === 'update' ? 'UpdateConfig' : 'RollbackConfig';
    const cfg = { ...asRecord(spec[key]) };
    if (get('Parallelism') !== undefined) cfg['Parallelism'] = Number(get('Parallelism'));
    if (get('Delay') !== undefined) cfg['Delay'] = parseDuration(get('Delay')!);
    if (get('Order') !== undefined) cfg['Order'] = get('Order');
    if (get('FailureAction') !== undefined) cfg['FailureAction'] = get('FailureAction');
    if (get('Monitor') !== undefined) cfg['Monitor'] = parseDuration(get('Monitor')!);
    if (get('MaxFailureRatio') !== undefined) cfg['MaxFailureRatio'] = Number(get('MaxFailureRatio'));
    if (Object.keys(cfg).length > 0) spec[key] = cfg;
  }
  const rp = { ...asRecord(tt['RestartPolicy']) };
  if (f.restartCondition !== undefined) rp['Condition'] = f.restartCondition;
  if (f.restartDelay !== undefined) rp['Delay'] = parseDuration(f.restartDelay);
  if (f.restartMaxAttempts !== undefined) rp['MaxAttempts'] = Number(f.restartMaxAttempts);
  if (f.restartWindow !== undefined) rp['Window'] = parseDuration(f.restartWindow);
  if (Object.keys(rp).length > 0) tt['RestartPolicy'] = rp;
  const res = asRecord(tt['Resources']);
  const lim = { ...asRecord(res['Limits']) };
  const resv = { ...asRecord(res['Reservations']) };
  if (f.reserveCpu !== undefined) resv['NanoCPUs'] = Math.round(Number(f.reserveCpu) * 1e9);
  if (f.reserveMemory !== undefined) resv['MemoryBytes'] = memBytes(f.reserveMemory);
  if (f.limitCpu !== undefined) lim['NanoCPUs'] = Math.round(Number(f.limitCpu) * 1e9);
  if (f.limitMemory !== undefined) lim['MemoryBytes'] = memBytes(f.limitMemory);
  tt['Resources'] = { Limits: lim, Reservations: resv };
  if (f.replicasMaxPerNode !== undefined) tt['Placement'] = { ...asRecord(tt['Placement']), MaxReplicas: Number(f.replicasMaxPerNode) };
  if (f.stopGracePeriod !== undefined) tt['ContainerSpec'] = { ...asRecord(tt['ContainerSpec']), StopGracePeriod: parseDuration(f.stopGracePeriod) };
  spec['TaskTemplate'] = tt;
}

async function getService(c: ApiClient, ref: string, defaults = false): Promise<Record<string, unknown>> {
  return asRecord(await c.json('GET', `/services/${encodeURIComponent(ref)}`, { query: { insertDefaults: defaults } }));
}

function replicasOf(svc: Record<string, unknown>): number | undefined {
  const mode = asRecord(asRecord(svc['Spec'])['Mode']);
  if (mode['Replicated']) return n(asRecord(mode['Replicated'])['Replicas'], 1);
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** docker's convergence wait (non-TTY form): progress lines, then the monitor period, then converged. */
async function waitConverged(c: ApiClient, id: string, out: NodeJS.WritableStream): Promise<void> {
  let last = '';
  let convergedAt: number | undefined;
  for (;;) {
    const svc = await getService(c, id);
    const us = asRecord(svc['UpdateStatus']);
    const state = s(us['State']);
    if (state === 'paused' || state === 'rollback_paused') throw new Error(`service update paused: ${s(us['Message'])}`);
    const tasks = asArray(await c.json('GET', '/tasks', { query: { filters: JSON.stringify({ service: { [id]: true }, '_up-to-date': { true: true } }) } })).map(asRecord);
    const nodes = asArray(await c.json('GET', '/nodes')).map(asRecord);
    const up = new Set(nodes.filter((x) => s(asRecord(x['Status'])['State']) !== 'down').map((x) => s(x['ID'])));
    const live = tasks.filter((t) => ['running', 'ready'].includes(s(t['DesiredState'])) && up.has(s(t['NodeID'])));
    const running = live.filter((t) => s(asRecord(t['Status'])['State']) === 'running').length;
    // desired count as the daemon computes it (replicas, or eligible nodes for a global service)
    const listed = asArray(await c.json('GET', '/services', { query: { status: true, filters: JSON.stringify({ id: { [id]: true } }) } })).map(asRecord);
    const want = replicasOf(svc) ?? n(asRecord(listed.find((x) => s(x['ID']) === id)?.['ServiceStatus'])['DesiredTasks'], live.length);
    const line = `overall progress: ${running} out of ${want} tasks`;
    if (line !== last) {
      out.write(`${line}\n`);
      last = line;
    }
    const monitorNs = n(asRecord(asRecord(svc['Spec'])['UpdateConfig'])['Monitor'], 5e9);
    if (running === want && live.length === want) {
      if (state === 'completed' || state === 'rollback_completed') break;
      if (convergedAt === undefined) {
        convergedAt = Date.now();
        out.write(`verify: Waiting ${Math.max(1, Math.round(monitorNs / 1e9))} seconds to verify that tasks are stable...\n`);
      }
      if (Date.now() - convergedAt >= monitorNs / 1e6) break;
    } else convergedAt = undefined;
    await sleep(200);
  }
  out.write(`verify: Service ${id} converged\n`);
}

function taskState(t: Record<string, unknown>): string {
  const st = asRecord(t['Status']);
  const state = s(st['State']);
  const since = Date.parse(s(st['Timestamp']));
  const cap = state.charAt(0).toUpperCase() + state.slice(1);
  return Number.isNaN(since) ? cap : `${cap} ${humanAgo(since / 1000)}`;
}

function portsText(ports: unknown): string {
  return asArray(ports)
    .map(asRecord)
    .map((p) => `*:${n(p['PublishedPort'])}->${n(p['TargetPort'])}/${s(p['Protocol'], 'tcp')}`)
    .join(', ');
}

const stripDigest = (img: string): string => img.replace(/@sha256:[0-9a-f]+$/, '');

export function registerServiceCommands(program: Command, client: ClientOf): void {
  const svc = program.command('service').description('Manage Swarm services');

  addSpecFlags(
    svc
      .command('create')
      .argument('<image>')
      .argument('[command...]')
      .option('--name <name>', 'service name')
      .option('--replicas <n>', 'number of tasks')
      .option('--mode <mode>', 'service mode (replicated, global, replicated-job, global-job)', 'replicated')
      .option('--max-concurrent <n>', 'number of job tasks to run concurrently')
      .option('-p, --publish <port>', 'publish a port as a node port', collect)
      .option('--constraint <c>', 'placement constraints', collect)
      .option('--placement-pref <p>', 'add a placement preference (spread=node.labels.x)', collect)
      .option('-e, --env <k=v>', 'set environment variables', collect)
      .option('-l, --label <k=v>', 'service labels', collect)
      .option('--container-label <k=v>', 'container labels', collect)
      .option('--network <n>', 'network attachments', collect)
      .option('--secret <s>', 'specify secrets to expose to the service (source=…,target=…,uid=…,gid=…,mode=…)', collect)
      .option('--config <c>', 'specify configurations to expose to the service', collect)
      .option('--endpoint-mode <m>', 'endpoint mode (vip or dnsrr)')
      .option('--no-resolve-image', 'do not query the registry to resolve image digest')
      .option('-q, --quiet', 'suppress progress output'),
  ).action(async (image: string, command: string[], f: UpdateFlags & Record<string, unknown>) => {
    const c = client();
    const mode = s(f['mode']);
    const modes: Record<string, unknown> = {
      replicated: { Replicated: f['replicas'] !== undefined ? { Replicas: Number(f['replicas']) } : {} },
      global: { Global: {} },
      'replicated-job': { ReplicatedJob: { ...(f['maxConcurrent'] ? { MaxConcurrent: Number(f['maxConcurrent']) } : {}), ...(f['replicas'] ? { TotalCompletions: Number(f['replicas']) } : {}) } },
      'global-job': { GlobalJob: {} },
    };
    if (!(mode in modes)) throw new FlagError(`invalid argument "${mode}" for "--mode" flag: must be replicated, global, replicated-job or global-job`);
    if (f['replicas'] !== undefined && (mode === 'global' || mode === 'global-job')) throw new FlagError('replicas can only be used with replicated or replicated-job mode');
    const spec: Record<string, unknown> = {
      Name: s(f['name']),
      Labels: kv(f['label'] as string[] | undefined),
      TaskTemplate: {
        ContainerSpec: {
          Image: image,
          ...(command.length > 0 ? { Args: command } : {}),
          ...(f['env'] ? { Env: f['env'] } : {}),
          ...(f['containerLabel'] ? { Labels: kv(f['containerLabel'] as string[]) } : {}),
          ...(f['secret'] ? { Secrets: (f['secret'] as string[]).map((v) => parseFileRef('secret', v)) } : {}),
          ...(f['config'] ? { Configs: (f['config'] as string[]).map((v) => parseFileRef('config', v)) } : {}),
        },
        Placement: {
          ...(f['constraint'] ? { Constraints: f['constraint'] } : {}),
          ...(f['placementPref'] ? { Preferences: (f['placementPref'] as string[]).map((p) => ({ Spread: { SpreadDescriptor: p.replace(/^spread=/, '') } })) } : {}),
        },
        ...(f['network'] ? { Networks: (f['network'] as string[]).map((t) => ({ Target: t })) } : {}),
      },
      Mode: modes[mode],
      EndpointSpec: { ...(f['endpointMode'] ? { Mode: f['endpointMode'] } : {}), ...(f['publish'] ? { Ports: (f['publish'] as string[]).map(parsePublish) } : {}) },
    };
    applySpecFlags(spec, f);
    const r = asRecord(await c.json('POST', '/services/create', { body: spec }));
    const id = s(r['ID']);
    process.stdout.write(`${id}\n`);
    if (!f.detach && !f['quiet']) await waitConverged(c, id, process.stdout);
  });

  svc
    .command('ls')
    .alias('list')
    .option('-q, --quiet', 'only display IDs')
    .option('-f, --filter <f>', 'filter output (id, name, label, mode)', collect)
    .action(async (f: { quiet?: boolean; filter?: string[] }) => {
      const filters: Record<string, Record<string, boolean>> = {};
      for (const x of f.filter ?? []) {
        const i = x.indexOf('=');
        const k = x.slice(0, i);
        (filters[k] ??= {})[x.slice(i + 1)] = true;
      }
      const list = asArray(await client().json('GET', '/services', { query: { status: true, filters: f.filter ? JSON.stringify(filters) : undefined } })).map(asRecord);
      if (f.quiet) {
        process.stdout.write(list.map((x) => `${s(x['ID'])}\n`).join(''));
        return;
      }
      const rows = list.map((x) => {
        const spec = asRecord(x['Spec']);
        const mode = asRecord(spec['Mode']);
        const st = asRecord(x['ServiceStatus']);
        const kind = mode['Global'] ? 'global' : mode['ReplicatedJob'] ? 'replicated job' : mode['GlobalJob'] ? 'global job' : 'replicated';
        let replicas = `${n(st['RunningTasks'])}/${n(st['DesiredTasks'])}`;
        if (mode['ReplicatedJob']) replicas += ` (${n(st['CompletedTasks'])}/${n(asRecord(mode['ReplicatedJob'])['TotalCompletions'])} completed)`;
        const image = stripDigest(s(asRecord(asRecord(spec['TaskTemplate'])['ContainerSpec'])['Image']));
        return [s(x['ID']).slice(0, 12), s(spec['Name']), kind, replicas, image, portsText(asRecord(x['Endpoint'])['Ports'])];
      });
      process.stdout.write(table(['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS'], rows));
    });

  svc
    .command('ps')
    .argument('<services...>')
    .option('-q, --quiet', 'only display task IDs')
    .option('--no-trunc', 'do not truncate output')
    .option('-f, --filter <f>', 'filter output (desired-state, node, name, id)', collect)
    .action(async (refs: string[], f: { quiet?: boolean; trunc?: boolean; filter?: string[] }) => {
      const c = client();
      const rows: string[][] = [];
      const hostnames = new Map<string, string>();
      for (const ref of refs) {
        const service = await getService(c, ref);
        const id = s(service['ID']);
        const name = s(asRecord(service['Spec'])['Name']);
        const filters: Record<string, Record<string, boolean>> = { service: { [id]: true } };
        for (const x of f.filter ?? []) {
          const i = x.indexOf('=');
          (filters[x.slice(0, i)] ??= {})[x.slice(i + 1)] = true;
        }
        const tasks = asArray(await c.json('GET', '/tasks', { query: { filters: JSON.stringify(filters) } })).map(asRecord);
        const key = (t: Record<string, unknown>) => (n(t['Slot']) > 0 ? String(n(t['Slot'])).padStart(8, '0') : s(t['NodeID']));
        tasks.sort((a, b) => key(a).localeCompare(key(b)) || s(b['CreatedAt']).localeCompare(s(a['CreatedAt'])));
        let prev = '';
        for (const t of tasks) {
          const nodeId = s(t['NodeID']);
          if (nodeId && !hostnames.has(nodeId)) {
            try {
              hostnames.set(nodeId, s(asRecord(asRecord(await c.json('GET', `/nodes/${nodeId}`))['Description'])['Hostname'], nodeId));
            } catch {
              hostnames.set(nodeId, nodeId);
            }
          }
          const tname = `${name}.${n(t['Slot']) > 0 ? n(t['Slot']) : nodeId}`;
          const shown = tname === prev ? ` \\_ ${tname}` : tname;
          prev = tname;
          const st = asRecord(t['Status']);
          const image = stripDigest(s(asRecord(asRecord(t['Spec'])['ContainerSpec'])['Image']));
          const err = s(st['Err']);
          rows.push([
            f.trunc === false ? s(t['ID']) : s(t['ID']).slice(0, 12),
            shown,
            image,
            hostnames.get(nodeId) ?? '',
            s(t['DesiredState']).replace(/^./, (x) => x.toUpperCase()),
            taskState(t),
            err ? `"${f.trunc === false ? err : err.slice(0, 29)}"` : '',
            portsText(asRecord(st['PortStatus'])['Ports']),
          ]);
        }
      }
      if (f.quiet) process.stdout.write(rows.map((r) => `${r[0]}\n`).join(''));
      else process.stdout.write(table(['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR', 'PORTS'], rows));
    });

  svc
    .command('inspect')
    .argument('<services...>')
    .option('--pretty', 'print the information in a human friendly format')
    .action(async (refs: string[], f: { pretty?: boolean }) => {
      const out = [];
      for (const r of refs) out.push(await getService(client(), r, true));
      if (!f.pretty) {
        process.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
        return;
      }
      for (const x of out) {
        const spec = asRecord(x['Spec']);
        const rep = replicasOf(x);
        process.stdout.write(
          `\nID:\t\t${s(x['ID'])}\nName:\t\t${s(spec['Name'])}\nService Mode:\t${rep !== undefined ? 'Replicated' : 'Global'}\n${rep !== undefined ? ` Replicas:\t${rep}\n` : ''}` +
            `ContainerSpec:\n Image:\t\t${s(asRecord(asRecord(spec['TaskTemplate'])['ContainerSpec'])['Image'])}\n`,
        );
      }
    });

  svc
    .command('scale')
    .argument('<service=replicas...>')
    .option('-d, --detach', 'exit immediately instead of waiting for the service to converge')
    .action(async (pairs: string[], f: { detach?: boolean }) => {
      const c = client();
      for (const p of pairs) {
        const m = /^(.+)=(\d+)$/.exec(p);
        if (!m) throw new FlagError(`invalid scale specifier '${p}'.\nSee 'shoal service scale --help'.`);
        const service = await getService(c, m[1]!);
        const spec = asRecord(service['Spec']);
        if (!asRecord(spec['Mode'])['Replicated'] && !asRecord(spec['Mode'])['ReplicatedJob']) throw new Error(`${m[1]}: scale can only be used with replicated or replicated-job mode`);
        if (asRecord(spec['Mode'])['Replicated']) spec['Mode'] = { Replicated: { Replicas: Number(m[2]) } };
        else spec['Mode'] = { ReplicatedJob: { ...asRecord(asRecord(spec['Mode'])['ReplicatedJob']), TotalCompletions: Number(m[2]) } };
        await c.json('POST', `/services/${s(service['ID'])}/update`, { query: { version: n(asRecord(service['Version'])['Index']) }, body: spec });
        process.stdout.write(`${m[1]} scaled to ${m[2]}\n`);
        if (!f.detach) await waitConverged(c, s(service['ID']), process.stdout);
      }
    });

  addSpecFlags(
    svc
      .command('update')
      .argument('<service>')
      .option('--image <image>', 'service image tag')
      .option('--replicas <n>', 'number of tasks')
      .option('--force', 'force update even if no changes require it')
      .option('--env-add <k=v>', 'add or update an environment variable', collect)
      .option('--env-rm <k>', 'remove an environment variable', collect)
      .option('--constraint-add <c>', 'add or update a placement constraint', collect)
      .option('--constraint-rm <c>', 'remove a constraint', collect)
      .option('--label-add <k=v>', 'add or update a service label', collect)
      .option('--label-rm <k>', 'remove a label by its key', collect)
      .option('--publish-add <p>', 'add or update a published port', collect)
      .option('--publish-rm <target>', 'remove a published port by its target port', collect)
      .option('--secret-add <s>', 'add or update a secret on a service', collect)
      .option('--secret-rm <s>', 'remove a secret', collect)
      .option('--config-add <c>', 'add or update a config file on a service', collect)
      .option('--config-rm <c>', 'remove a configuration file', collect)
      .option('--rollback', 'rollback to previous specification')
      .option('-q, --quiet', 'suppress progress output'),
  ).action(async (ref: string, f: UpdateFlags & Record<string, unknown>) => {
    const c = client();
    const service = await getService(c, ref);
    const id = s(service['ID']);
    const version = n(asRecord(service['Version'])['Index']);
    if (f['rollback']) {
      await c.json('POST', `/services/${id}/update`, { query: { version, rollback: 'previous' }, body: service['Spec'] });
    } else {
      const spec = structuredClone(asRecord(service['Spec']));
      const tt = asRecord(spec['TaskTemplate']);
      const cs = asRecord(tt['ContainerSpec']);
      if (f['image']) cs['Image'] = f['image'];
      if (f['envAdd'] || f['envRm']) {
        let env = asArray(cs['Env']).map((x) => s(x));
        const rm = new Set([...((f['envRm'] as string[]) ?? []), ...((f['envAdd'] as string[]) ?? []).map((e) => e.split('=')[0]!)]);
        env = env.filter((e) => !rm.has(e.split('=')[0]!));
        cs['Env'] = [...env, ...((f['envAdd'] as string[]) ?? [])];
      }
      editFileRefs(cs, 'secret', f['secretAdd'] as string[] | undefined, f['secretRm'] as string[] | undefined);
      editFileRefs(cs, 'config', f['configAdd'] as string[] | undefined, f['configRm'] as string[] | undefined);
      tt['ContainerSpec'] = cs;
      if (f['constraintAdd'] || f['constraintRm']) {
        const pl = asRecord(tt['Placement']);
        const rm = new Set((f['constraintRm'] as string[]) ?? []);
        pl['Constraints'] = [...asArray(pl['Constraints']).map((x) => s(x)).filter((x) => !rm.has(x)), ...((f['constraintAdd'] as string[]) ?? [])];
        tt['Placement'] = pl;
      }
      if (f['force']) tt['ForceUpdate'] = n(tt['ForceUpdate']) + 1;
      spec['TaskTemplate'] = tt;
      if (f['labelAdd'] || f['labelRm']) {
        const labels = { ...asRecord(spec['Labels']), ...kv(f['labelAdd'] as string[] | undefined) };
        for (const k of (f['labelRm'] as string[]) ?? []) delete labels[k];
        spec['Labels'] = labels;
      }
      if (f['replicas'] !== undefined) {
        if (!asRecord(spec['Mode'])['Replicated']) throw new FlagError('replicas can only be used with replicated mode');
        spec['Mode'] = { Replicated: { Replicas: Number(f['replicas']) } };
      }
      if (f['publishAdd'] || f['publishRm']) {
        const es = asRecord(spec['EndpointSpec']);
        const rm = new Set(((f['publishRm'] as string[]) ?? []).map((x) => Number(x.split('/')[0])));
        const add = ((f['publishAdd'] as string[]) ?? []).map(parsePublish);
        const keep = asArray(es['Ports']).map(asRecord).filter((p) => !rm.has(n(p['TargetPort'])) && !add.some((a) => a['PublishedPort'] !== undefined && a['PublishedPort'] === p['PublishedPort']));
        es['Ports'] = [...keep, ...add];
        spec['EndpointSpec'] = es;
      }
      applySpecFlags(spec, f);
      await c.json('POST', `/services/${id}/update`, { query: { version }, body: spec });
    }
    process.stdout.write(`${ref}\n`);
    if (!f.detach && !f['quiet']) await waitConverged(c, id, process.stdout);
  });

  svc
    .command('rollback')
    .argument('<service>')
    .option('-d, --detach', 'exit immediately instead of waiting for the service to converge')
    .option('-q, --quiet', 'suppress progress output')
    .action(async (ref: string, f: { detach?: boolean; quiet?: boolean }) => {
      const c = client();
      const service = await getService(c, ref);
      const id = s(service['ID']);
      await c.json('POST', `/services/${id}/update`, { query: { version: n(asRecord(service['Version'])['Index']), rollback: 'previous' }, body: service['Spec'] });
      process.stdout.write(`${ref}\nrollback: manually requested rollback\n`);
      if (!f.detach && !f.quiet) await waitConverged(c, id, process.stdout);
    });

  svc
    .command('rm')
    .alias('remove')
    .argument('<services...>')
    .action(async (refs: string[]) => {
      let failed: unknown;
      for (const r of refs) {
        try {
          await client().call('DELETE', `/services/${encodeURIComponent(r)}`);
          process.stdout.write(`${r}\n`);
        } catch (e) {
          failed = e;
        }
      }
      if (failed) throw failed;
    });

  svc
    .command('logs')
    .argument('<service|task>')
    .option('-f, --follow', 'follow log output')
    .option('-n, --tail <n>', 'number of lines to show from the end of the logs (per task)', 'all')
    .option('-t, --timestamps', 'show timestamps')
    .option('--since <ts>', 'show logs since a unix timestamp')
    .option('--details', 'show extra details provided to logs')
    .option('--raw', 'do not neatly format logs')
    .option('--no-trunc', 'do not truncate output')
    .option('--no-task-ids', 'do not include task IDs in output')
    .option('--no-resolve', 'do not map IDs to names in output')
    .action(async (ref: string, f: { follow?: boolean; tail: string; timestamps?: boolean; since?: string; details?: boolean; raw?: boolean; trunc?: boolean; taskIds?: boolean; resolve?: boolean }) => {
      const c = client();
      const query = { stdout: true, stderr: true, details: true, follow: f.follow === true, tail: f.tail, timestamps: f.timestamps === true, ...(f.since ? { since: f.since } : {}) };
      let res;
      let tty = false;
      try {
        const svcObj = await getService(c, ref);
        tty = asRecord(asRecord(asRecord(svcObj['Spec'])['TaskTemplate'])['ContainerSpec'])['TTY'] === true;
        res = await c.open('GET', `/services/${encodeURIComponent(s(svcObj['ID']))}/logs`, { query, timeoutMs: 60_000 });
      } catch (e) {
        if ((e as { status?: number }).status !== 404) throw e;
        const task = asRecord(await c.json('GET', `/tasks/${encodeURIComponent(ref)}`));
        tty = asRecord(asRecord(task['Spec'])['ContainerSpec'])['TTY'] === true;
        res = await c.open('GET', `/tasks/${encodeURIComponent(s(task['ID']))}/logs`, { query, timeoutMs: 60_000 });
      }
      const names = new Map<string, string>();
      const nameOf = async (kind: 'task' | 'node', id: string): Promise<string> => {
        const key = `${kind}/${id}`;
        if (!names.has(key)) {
          let v = id;
          if (f.resolve !== false) {
            try {
              if (kind === 'node') v = s(asRecord(asRecord(await c.json('GET', `/nodes/${id}`))['Description'])['Hostname'], id);
              else {
                const t = asRecord(await c.json('GET', `/tasks/${id}`));
                const svcName = s(asRecord(t['ServiceAnnotations'])['Name']);
                const slot = n(t['Slot']);
                const tid = f.trunc === false ? id : id.slice(0, 12);
                v = `${svcName}.${slot > 0 ? slot : s(t['NodeID'])}${f.taskIds === false ? '' : `.${tid}`}`;
              }
            } catch {
              // keep the ID
            }
          }
          names.set(key, v);
        }
        return names.get(key)!;
      };
      // one line (after the optional timestamp): "k=v,k=v <text>" as the daemon sends with details=1
      const render = async (line: string): Promise<string> => {
        let ts = '';
        let rest = line;
        if (f.timestamps) {
          const sp = rest.indexOf(' ');
          ts = rest.slice(0, sp + 1);
          rest = rest.slice(sp + 1);
        }
        const sp = rest.indexOf(' ');
        const attrs = new Map<string, string>();
        for (const pair of rest.slice(0, Math.max(0, sp)).split(',')) {
          const eq = pair.indexOf('=');
          if (eq > 0) attrs.set(decodeURIComponent(pair.slice(0, eq).replace(/\+/g, ' ')), decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' ')));
        }
        const text = rest.slice(sp + 1);
        const extra = [...attrs].filter(([k]) => !k.startsWith('com.docker.swarm.')).map(([k, v]) => `${k}=${v}`).join(',');
        const body = `${ts}${f.details && extra ? `${extra} ` : ''}${text}`;
        if (f.raw) return body;
        const task = await nameOf('task', attrs.get('com.docker.swarm.task.id') ?? '');
        const node = await nameOf('node', attrs.get('com.docker.swarm.node.id') ?? '');
        return `${task}@${node}    | ${body}`;
      };
      let buf = Buffer.alloc(0);
      for await (const chunk of res) {
        buf = Buffer.concat([buf, chunk as Buffer]);
        for (;;) {
          let stream = 1;
          let payload: Buffer;
          if (tty) {
            const nl = buf.indexOf(10);
            if (nl < 0) break;
            payload = buf.subarray(0, nl + 1);
            buf = buf.subarray(nl + 1);
          } else {
            if (buf.length < 8) break;
            const len = buf.readUInt32BE(4);
            if (buf.length < 8 + len) break;
            stream = buf[0]!;
            payload = buf.subarray(8, 8 + len);
            buf = buf.subarray(8 + len);
          }
          const out = await render(payload.toString('utf8'));
          (stream === 2 ? process.stderr : process.stdout).write(out);
        }
      }
    });
}
