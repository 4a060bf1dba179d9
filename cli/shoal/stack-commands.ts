/**
 * `shoal stack deploy -c compose.yml [--prune] NAME`, `stack ls`, `stack services NAME`, `stack ps
 * NAME`, `stack rm NAME`. Stacks are client-side as in Docker: the compose file becomes networks,
 * secrets, configs and services labelled com.docker.stack.namespace=NAME (stack-convert.ts), created or
 * updated through the same API the docker CLI uses. A compose error stops before anything is created.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ApiClient } from '../api-client.js';
import { asArray, asRecord, n, s, table } from './format.js';
import type { ClientOf } from './container-commands.js';
import { loadCompose } from './stack-compose.js';
import { convertStack, type NamedBody } from './stack-convert.js';

const NS_LABEL = 'com.docker.stack.namespace';
const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
const byNs = (ns: string): string => JSON.stringify({ label: { [`${NS_LABEL}=${ns}`]: true } });

async function getOrUndefined(c: ApiClient, path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return asRecord(await c.json('GET', path));
  } catch (e) {
    if ((e as { status?: number }).status === 404) return undefined;
    throw e;
  }
}

async function deployData(c: ApiClient, kind: 'secret' | 'config', objs: NamedBody[], out: NodeJS.WritableStream): Promise<void> {
  const path = kind === 'secret' ? '/secrets' : '/configs';
  for (const o of objs) {
    const cur = await getOrUndefined(c, `${path}/${encodeURIComponent(o.name)}`);
    if (o.external) {
      if (!cur) throw new Error(`${kind} not found: ${o.name} (declared external)`);
      continue;
    }
    if (cur) {
      await c.json('POST', `${path}/${s(cur['ID'])}/update`, { query: { version: n(asRecord(cur['Version'])['Index']) }, body: o.body });
    } else {
      out.write(`Creating ${kind} ${o.name}\n`);
      await c.json('POST', `${path}/create`, { body: o.body });
    }
  }
}

export function registerStackCommands(program: Command, client: ClientOf): void {
  const stack = program.command('stack').description('Manage Swarm stacks');

  stack
    .command('deploy')
    .alias('up')
    .argument('<stack>')
    .requiredOption('-c, --compose-file <file>', 'path to a compose file', collect)
    .option('--prune', 'prune services that are no longer referenced')
    .option('-d, --detach', 'exit immediately instead of waiting for the stack services to converge (the default here)', true)
    .option('--resolve-image <when>', 'query the registry to resolve image digest (always, changed, never)', 'never')
    .action(async (ns: string, f: { composeFile: string[]; prune?: boolean }) => {
      if (f.composeFile.length !== 1) throw new Error('only one compose file is supported (-c)');
      // everything is read and checked before anything is created
      const plan = convertStack(loadCompose(f.composeFile[0]!, process.env), ns, { read: (p) => readFileSync(p) });
      const c = client();
      const out = process.stdout;

      const have = asArray(await c.json('GET', '/networks', { query: { filters: byNs(ns) } })).map(asRecord);
      for (const net of plan.networks) {
        if (net.external) {
          if (!(await getOrUndefined(c, `/networks/${encodeURIComponent(net.name)}`))) throw new Error(`network "${net.name}" is declared as external, but could not be found`);
          continue;
        }
        if (have.some((h) => s(h['Name']) === net.name)) continue;
        out.write(`Creating network ${net.name}\n`);
        await c.json('POST', '/networks/create', { body: net.body });
      }
      await deployData(c, 'secret', plan.secrets, out);
      await deployData(c, 'config', plan.configs, out);

      const current = asArray(await c.json('GET', '/services', { query: { filters: byNs(ns) } })).map(asRecord);
      for (const svc of plan.services) {
        const cur = current.find((x) => s(asRecord(x['Spec'])['Name']) === svc.name);
        if (cur) {
          out.write(`Updating service ${svc.name} (id: ${s(cur['ID'])})\n`);
          // an unset deploy.replicas keeps the current count, as the docker CLI does
          const mode = asRecord(svc.spec['Mode']);
          const curRep = asRecord(asRecord(asRecord(cur['Spec'])['Mode'])['Replicated']);
          if (mode['Replicated'] && asRecord(mode['Replicated'])['Replicas'] === undefined && curRep['Replicas'] !== undefined) mode['Replicated'] = { Replicas: curRep['Replicas'] };
          await c.json('POST', `/services/${s(cur['ID'])}/update`, { query: { version: n(asRecord(cur['Version'])['Index']) }, body: svc.spec });
        } else {
          out.write(`Creating service ${svc.name}\n`);
          await c.json('POST', '/services/create', { body: svc.spec });
        }
      }
      if (f.prune) {
        for (const x of current) {
          const name = s(asRecord(x['Spec'])['Name']);
          if (plan.services.some((p) => p.name === name)) continue;
          out.write(`Removing service ${name}\n`);
          await c.call('DELETE', `/services/${s(x['ID'])}`);
        }
      }
    });

  stack
    .command('ls')
    .alias('list')
    .action(async () => {
      const list = asArray(await client().json('GET', '/services', { query: { filters: JSON.stringify({ label: { [NS_LABEL]: true } }) } })).map(asRecord);
      const counts = new Map<string, number>();
      for (const x of list) {
        const ns = s(asRecord(asRecord(x['Spec'])['Labels'])[NS_LABEL]);
        counts.set(ns, (counts.get(ns) ?? 0) + 1);
      }
      process.stdout.write(table(['NAME', 'SERVICES'], [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, String(v)])));
    });

  stack
    .command('services')
    .argument('<stack>')
    .option('-q, --quiet', 'only display IDs')
    .action(async (ns: string, f: { quiet?: boolean }) => {
      const list = asArray(await client().json('GET', '/services', { query: { filters: byNs(ns), status: true } })).map(asRecord);
      if (list.length === 0) {
        process.stderr.write(`Nothing found in stack: ${ns}\n`);
        return;
      }
      if (f.quiet) {
        process.stdout.write(list.map((x) => `${s(x['ID'])}\n`).join(''));
        return;
      }
      const rows = list
        .map((x) => {
          const spec = asRecord(x['Spec']);
          const st = asRecord(x['ServiceStatus']);
          const ports = asArray(asRecord(x['Endpoint'])['Ports']).map(asRecord).map((p) => `*:${n(p['PublishedPort'])}->${n(p['TargetPort'])}/${s(p['Protocol'], 'tcp')}`).join(', ');
          const image = s(asRecord(asRecord(spec['TaskTemplate'])['ContainerSpec'])['Image']).replace(/@sha256:[0-9a-f]+$/, '');
          return [s(x['ID']).slice(0, 12), s(spec['Name']), asRecord(spec['Mode'])['Global'] ? 'global' : 'replicated', `${n(st['RunningTasks'])}/${n(st['DesiredTasks'])}`, image, ports];
        })
        .sort((a, b) => a[1]!.localeCompare(b[1]!));
      process.stdout.write(table(['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS'], rows));
    });

  stack
    .command('ps')
    .argument('<stack>')
    .option('-q, --quiet', 'only display task IDs')
    .option('--no-trunc', 'do not truncate output')
    .action(async (ns: string, f: { quiet?: boolean; trunc?: boolean }) => {
      const c = client();
      const tasks = asArray(await c.json('GET', '/tasks', { query: { filters: byNs(ns) } })).map(asRecord);
      if (tasks.length === 0) {
        process.stderr.write(`Nothing found in stack: ${ns}\n`);
        return;
      }
      if (f.quiet) {
        process.stdout.write(tasks.map((t) => `${s(t['ID'])}\n`).join(''));
        return;
      }
      const hosts = new Map<string, string>();
      for (const node of asArray(await c.json('GET', '/nodes')).map(asRecord)) hosts.set(s(node['ID']), s(asRecord(node['Description'])['Hostname']));
      const rows = tasks
        .sort((a, b) => s(asRecord(a['ServiceAnnotations'])['Name']).localeCompare(s(asRecord(b['ServiceAnnotations'])['Name'])) || n(a['Slot']) - n(b['Slot']))
        .map((t) => {
          const st = asRecord(t['Status']);
          const state = s(st['State']);
          const id = s(t['ID']);
          return [
            f.trunc === false ? id : id.slice(0, 12),
            `${s(asRecord(t['ServiceAnnotations'])['Name'])}.${n(t['Slot']) > 0 ? n(t['Slot']) : s(t['NodeID'])}`,
            s(asRecord(asRecord(t['Spec'])['ContainerSpec'])['Image']).replace(/@sha256:[0-9a-f]+$/, ''),
            hosts.get(s(t['NodeID'])) ?? '',
            s(t['DesiredState']).replace(/^./, (x) => x.toUpperCase()),
            state.replace(/^./, (x) => x.toUpperCase()),
            s(st['Err']),
          ];
        });
      process.stdout.write(table(['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR'], rows));
    });

  stack
    .command('rm')
    .alias('remove')
    .alias('down')
    .argument('<stacks...>')
    .action(async (stacks: string[]) => {
      const c = client();
      for (const ns of stacks) {
        const services = asArray(await c.json('GET', '/services', { query: { filters: byNs(ns) } })).map(asRecord);
        const networks = asArray(await c.json('GET', '/networks', { query: { filters: byNs(ns) } })).map(asRecord);
        const secrets = asArray(await c.json('GET', '/secrets', { query: { filters: byNs(ns) } })).map(asRecord);
        const configs = asArray(await c.json('GET', '/configs', { query: { filters: byNs(ns) } })).map(asRecord);
        if (services.length + networks.length + secrets.length + configs.length === 0) {
          process.stderr.write(`Nothing found in stack: ${ns}\n`);
          continue;
        }
        for (const x of services) {
          process.stdout.write(`Removing service ${s(asRecord(x['Spec'])['Name'])}\n`);
          await c.call('DELETE', `/services/${s(x['ID'])}`);
        }
        for (const x of secrets) {
          process.stdout.write(`Removing secret ${s(asRecord(x['Spec'])['Name'])}\n`);
          await c.call('DELETE', `/secrets/${s(x['ID'])}`);
        }
        for (const x of configs) {
          process.stdout.write(`Removing config ${s(asRecord(x['Spec'])['Name'])}\n`);
          await c.call('DELETE', `/configs/${s(x['ID'])}`);
        }
        for (const x of networks) {
          process.stdout.write(`Removing network ${s(x['Name'])}\n`);
          await c.call('DELETE', `/networks/${s(x['Id'] ?? x['ID'])}`);
        }
      }
    });
}
