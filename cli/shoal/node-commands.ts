/**
 * `shoal node ls|inspect|ps|promote|demote|update|rm` with the docker CLI's flags, columns and messages:
 * ls sorted by hostname with `*` on this node; updates read the node, change its spec and post it with
 * the version read (the daemon refuses a stale one).
 */
import type { Command } from 'commander';
import type { ApiClient } from '../api-client.js';
import { asArray, asRecord, n, s } from './format.js';
import type { ClientOf } from './container-commands.js';
import { FlagError } from './run-flags.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** The docker CLI's table: Go's tabwriter with minwidth 10 and padding 3. */
function dockerTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(10, h.length + 3, ...rows.map((r) => (r[i] ?? '').length + 3)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}
const title = (v: string): string => v.replace(/^./, (x) => x.toUpperCase());

function filtersOf(list: string[] | undefined): string | undefined {
  if (!list || list.length === 0) return undefined;
  const f: Record<string, Record<string, boolean>> = {};
  for (const x of list) {
    const i = x.indexOf('=');
    if (i <= 0) throw new FlagError(`bad format of filter (expected name=value): ${x}`);
    (f[x.slice(0, i)] ??= {})[x.slice(i + 1)] = true;
  }
  return JSON.stringify(f);
}

async function selfId(c: ApiClient): Promise<string> {
  return s(asRecord(asRecord(await c.json('GET', '/info'))['Swarm'])['NodeID']);
}

async function getNode(c: ApiClient, ref: string): Promise<Record<string, unknown>> {
  return asRecord(await c.json('GET', `/nodes/${encodeURIComponent(ref === 'self' ? await selfId(c) : ref)}`));
}

function managerStatus(node: Record<string, unknown>): string {
  const ms = asRecord(node['ManagerStatus']);
  if (ms['Leader'] === true) return 'Leader';
  return ms['Reachability'] ? title(s(ms['Reachability'])) : '';
}

/** Reads, changes and posts a node's spec. */
async function updateNode(c: ApiClient, ref: string, change: (spec: Record<string, unknown>) => void): Promise<Record<string, unknown>> {
  const node = await getNode(c, ref);
  const spec = { ...asRecord(node['Spec']) };
  spec['Labels'] = { ...asRecord(spec['Labels']) };
  change(spec);
  await c.call('POST', `/nodes/${s(node['ID'])}/update`, { query: { version: n(asRecord(node['Version'])['Index']) }, body: spec });
  return node;
}

export function registerNodeCommands(program: Command, client: ClientOf): void {
  const node = program.command('node').description('Manage Swarm nodes');

  node
    .command('ls')
    .alias('list')
    .description('List nodes in the swarm')
    .option('-q, --quiet', 'Only display IDs')
    .option('-f, --filter <f>', 'Filter output based on conditions provided', collect)
    .action(async (f: { quiet?: boolean; filter?: string[] }) => {
      const c = client();
      const nodes = asArray(await c.json('GET', '/nodes', { query: { filters: filtersOf(f.filter) } })).map(asRecord);
      const hostname = (x: Record<string, unknown>) => s(asRecord(x['Description'])['Hostname']);
      nodes.sort((a, b) => hostname(a).localeCompare(hostname(b), undefined, { numeric: true }) || s(a['ID']).localeCompare(s(b['ID'])));
      if (f.quiet) {
        process.stdout.write(nodes.map((x) => `${s(x['ID'])}\n`).join(''));
        return;
      }
      const me = await selfId(c);
      process.stdout.write(dockerTable(['ID', 'HOSTNAME', 'STATUS', 'AVAILABILITY', 'MANAGER STATUS', 'ENGINE VERSION'], nodes.map((x) => [
        `${s(x['ID'])}${s(x['ID']) === me ? ' *' : ''}`,
        hostname(x),
        title(s(asRecord(x['Status'])['State'])),
        title(s(asRecord(x['Spec'])['Availability'])),
        managerStatus(x),
        s(asRecord(asRecord(x['Description'])['Engine'])['EngineVersion']),
      ])));
    });

  node
    .command('inspect')
    .description('Display detailed information on one or more nodes')
    .argument('<nodes...>')
    .option('--pretty', 'Print the information in a human friendly format')
    .action(async (refs: string[], f: { pretty?: boolean }) => {
      const c = client();
      const nodes = [];
      for (const r of refs) nodes.push(await getNode(c, r));
      if (!f.pretty) {
        process.stdout.write(`${JSON.stringify(nodes, null, 4)}\n`);
        return;
      }
      for (const x of nodes) {
        const d = asRecord(x['Description']);
        const st = asRecord(x['Status']);
        const spec = asRecord(x['Spec']);
        const ms = asRecord(x['ManagerStatus']);
        const res = asRecord(d['Resources']);
        const lines = [
          `ID:\t\t\t${s(x['ID'])}`,
          `Hostname:\t\t${s(d['Hostname'])}`,
          `Joined at:\t\t${s(x['CreatedAt'])}`,
          'Status:',
          ` State:\t\t\t${title(s(st['State']))}`,
          ` Availability:\t\t${title(s(spec['Availability']))}`,
          ` Address:\t\t${s(st['Addr'])}`,
          ...(x['ManagerStatus'] ? ['Manager Status:', ` Address:\t\t${s(ms['Addr'])}`, ` Raft Status:\t\t${title(s(ms['Reachability']))}`, ` Leader:\t\t${ms['Leader'] === true ? 'Yes' : 'No'}`] : []),
          'Platform:',
          ` Operating System:\t${s(asRecord(d['Platform'])['OS'])}`,
          ` Architecture:\t\t${s(asRecord(d['Platform'])['Architecture'])}`,
          'Resources:',
          ` CPUs:\t\t\t${n(res['NanoCPUs']) / 1e9}`,
          ` Memory:\t\t${(n(res['MemoryBytes']) / 1024 ** 3).toFixed(2)}GiB`,
          `Engine Version:\t\t${s(asRecord(d['Engine'])['EngineVersion'])}`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
    });

  node
    .command('ps')
    .description('List tasks running on one or more nodes, defaults to current node')
    .argument('[nodes...]')
    .option('-q, --quiet', 'Only display task IDs')
    .option('--no-trunc', 'Do not truncate output')
    .action(async (refs: string[], f: { quiet?: boolean; trunc?: boolean }) => {
      const c = client();
      const rows: string[][] = [];
      for (const r of refs.length > 0 ? refs : ['self']) {
        const nd = await getNode(c, r);
        const id = s(nd['ID']);
        const host = s(asRecord(nd['Description'])['Hostname']);
        const tasks = asArray(await c.json('GET', '/tasks', { query: { filters: JSON.stringify({ node: { [id]: true } }) } })).map(asRecord);
        const services = new Map<string, string>();
        for (const t of tasks) {
          const sid = s(t['ServiceID']);
          if (!services.has(sid)) services.set(sid, s(asRecord(asRecord(await c.json('GET', `/services/${sid}`).catch(() => ({})))['Spec'])['Name'], sid));
          const st = asRecord(t['Status']);
          const slot = n(t['Slot']);
          const image = s(asRecord(asRecord(t['Spec'])['ContainerSpec'])['Image']).replace(/@sha256:[0-9a-f]+$/, '');
          rows.push([
            f.trunc === false ? s(t['ID']) : s(t['ID']).slice(0, 12),
            `${services.get(sid)}.${slot > 0 ? slot : id}`,
            image,
            host,
            title(s(t['DesiredState'])),
            title(s(st['State'])),
            s(st['Err']) ? `"${s(st['Err'])}"` : '',
            '',
          ]);
        }
      }
      if (f.quiet) process.stdout.write(rows.map((r) => `${r[0]}\n`).join(''));
      else process.stdout.write(dockerTable(['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR', 'PORTS'], rows));
    });

  node
    .command('promote')
    .description('Promote one or more nodes to manager in the swarm')
    .argument('<nodes...>')
    .action(async (refs: string[]) => {
      const c = client();
      for (const r of refs) {
        const cur = await getNode(c, r);
        if (s(asRecord(cur['Spec'])['Role']) === 'manager') {
          process.stdout.write(`Node ${r} is already a manager.\n`);
          continue;
        }
        await updateNode(c, r, (spec) => {
          spec['Role'] = 'manager';
        });
        process.stdout.write(`Node ${r} promoted to a manager in the swarm.\n`);
      }
    });

  node
    .command('demote')
    .description('Demote one or more nodes from manager in the swarm')
    .argument('<nodes...>')
    .action(async (refs: string[]) => {
      const c = client();
      for (const r of refs) {
        const cur = await getNode(c, r);
        if (s(asRecord(cur['Spec'])['Role']) === 'worker') {
          process.stdout.write(`Node ${r} is already a worker.\n`);
          continue;
        }
        await updateNode(c, r, (spec) => {
          spec['Role'] = 'worker';
        });
        process.stdout.write(`Manager ${r} demoted in the swarm.\n`);
      }
    });

  node
    .command('update')
    .description('Update a node')
    .argument('<node>')
    .option('--availability <a>', 'Availability of the node ("active", "pause", "drain")')
    .option('--role <r>', 'Role of the node ("worker", "manager")')
    .option('--label-add <k=v>', 'Add or update a node label (key=value)', collect)
    .option('--label-rm <k>', 'Remove a node label if exists', collect)
    .action(async (ref: string, f: { availability?: string; role?: string; labelAdd?: string[]; labelRm?: string[] }) => {
      if (f.availability !== undefined && !['active', 'pause', 'drain'].includes(f.availability)) {
        throw new FlagError(`invalid argument "${f.availability}" for "--availability" flag: invalid availability: ${f.availability}`);
      }
      if (f.role !== undefined && !['worker', 'manager'].includes(f.role)) throw new FlagError(`invalid argument "${f.role}" for "--role" flag: invalid role ${f.role}`);
      await updateNode(client(), ref, (spec) => {
        if (f.availability) spec['Availability'] = f.availability;
        if (f.role) spec['Role'] = f.role;
        const labels = asRecord(spec['Labels']);
        for (const l of f.labelAdd ?? []) {
          const i = l.indexOf('=');
          labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
        }
        for (const k of f.labelRm ?? []) {
          if (!(k in labels)) throw new FlagError(`key ${k} doesn't exist in node's labels`);
          delete labels[k];
        }
        spec['Labels'] = labels;
      });
      process.stdout.write(`${ref}\n`);
    });

  node
    .command('rm')
    .alias('remove')
    .description('Remove one or more nodes from the swarm')
    .argument('<nodes...>')
    .option('-f, --force', 'Force remove a node from the swarm')
    .action(async (refs: string[], f: { force?: boolean }) => {
      const c = client();
      for (const r of refs) {
        await c.call('DELETE', `/nodes/${encodeURIComponent(r)}`, { query: { force: f.force ? '1' : undefined } });
        process.stdout.write(`${r}\n`);
      }
    });
}
