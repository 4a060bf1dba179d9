/** `shoal volume …` and `shoal network …`. */
import type { Command } from 'commander';
import { asArray, asRecord, s, shortId, table } from './format.js';
import type { ClientOf } from './container-commands.js';

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

function kv(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list ?? []) {
    const i = l.indexOf('=');
    out[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  return out;
}

export function registerVolumeCommands(program: Command, client: ClientOf): void {
  const v = program.command('volume').description('Manage volumes');
  v.command('create')
    .argument('[name]')
    .option('-d, --driver <d>', 'volume driver', 'local')
    .option('-o, --opt <k=v>', 'driver options', collect)
    .option('--label <k=v>', 'labels', collect)
    .action(async (name: string | undefined, f: { driver: string; opt?: string[]; label?: string[] }) => {
      const r = asRecord(await client().json('POST', '/volumes/create', { body: { Name: name ?? '', Driver: f.driver, DriverOpts: kv(f.opt), Labels: kv(f.label) } }));
      process.stdout.write(`${s(r['Name'])}\n`);
    });
  v.command('ls')
    .option('-q, --quiet', 'only names')
    .action(async (f: { quiet?: boolean }) => {
      const r = asArray(asRecord(await client().json('GET', '/volumes'))['Volumes']).map(asRecord);
      if (f.quiet) process.stdout.write(r.map((x) => `${s(x['Name'])}\n`).join(''));
      else process.stdout.write(table(['DRIVER', 'VOLUME NAME'], r.map((x) => [s(x['Driver']), s(x['Name'])])));
    });
  v.command('inspect')
    .argument('<names...>')
    .action(async (names: string[]) => {
      const out = [];
      for (const n of names) out.push(await client().json('GET', `/volumes/${encodeURIComponent(n)}`));
      process.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
    });
  v.command('rm')
    .argument('<names...>')
    .option('-f, --force', 'force removal')
    .action(async (names: string[], f: { force?: boolean }) => {
      for (const n of names) {
        await client().call('DELETE', `/volumes/${encodeURIComponent(n)}`, { query: { force: f.force === true } });
        process.stdout.write(`${n}\n`);
      }
    });
  v.command('prune')
    .option('-f, --force', 'do not prompt')
    .option('-a, --all', 'remove named volumes too')
    .action(async (f: { all?: boolean }) => {
      const r = asRecord(await client().json('POST', '/volumes/prune', { query: { filters: f.all ? JSON.stringify({ all: ['true'] }) : undefined } }));
      const del = asArray(r['VolumesDeleted']).map((x) => s(x));
      if (del.length > 0) process.stdout.write(`Deleted Volumes:\n${del.join('\n')}\n\n`);
      process.stdout.write(`Total reclaimed space: ${s(r['SpaceReclaimed'], '0')}B\n`);
    });
}

export function registerNetworkCommands(program: Command, client: ClientOf): void {
  const net = program.command('network').description('Manage networks');
  net
    .command('create')
    .argument('<name>')
    .option('-d, --driver <d>', 'driver', 'bridge')
    .option('--subnet <cidr>', 'subnet')
    .option('--gateway <ip>', 'gateway')
    .option('--ip-range <cidr>', 'range to allocate from')
    .option('--internal', 'no external access')
    .option('--attachable', 'attachable')
    .option('-o, --opt <k=v>', 'driver options', collect)
    .option('--label <k=v>', 'labels', collect)
    .action(async (name: string, f: { driver: string; subnet?: string; gateway?: string; ipRange?: string; internal?: boolean; attachable?: boolean; opt?: string[]; label?: string[] }) => {
      const cfg = f.subnet ? [{ Subnet: f.subnet, ...(f.gateway ? { Gateway: f.gateway } : {}), ...(f.ipRange ? { IPRange: f.ipRange } : {}) }] : [];
      const r = asRecord(await client().json('POST', '/networks/create', { body: { Name: name, Driver: f.driver, Internal: f.internal === true, Attachable: f.attachable === true, IPAM: { Driver: 'default', Config: cfg, Options: {} }, Options: kv(f.opt), Labels: kv(f.label) } }));
      process.stdout.write(`${s(r['Id'])}\n`);
    });
  net
    .command('ls')
    .option('-q, --quiet', 'only IDs')
    .action(async (f: { quiet?: boolean }) => {
      const r = asArray(await client().json('GET', '/networks')).map(asRecord);
      r.sort((a, b) => s(a['Name']).localeCompare(s(b['Name'])));
      if (f.quiet) process.stdout.write(r.map((x) => `${shortId(s(x['Id']))}\n`).join(''));
      else process.stdout.write(table(['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'], r.map((x) => [shortId(s(x['Id'])), s(x['Name']), s(x['Driver']), s(x['Scope'])])));
    });
  net
    .command('inspect')
    .argument('<names...>')
    .action(async (names: string[]) => {
      const out = [];
      for (const n of names) out.push(await client().json('GET', `/networks/${encodeURIComponent(n)}`));
      process.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
    });
  net
    .command('rm')
    .argument('<names...>')
    .action(async (names: string[]) => {
      for (const n of names) {
        await client().call('DELETE', `/networks/${encodeURIComponent(n)}`);
        process.stdout.write(`${n}\n`);
      }
    });
  net
    .command('connect')
    .argument('<network>')
    .argument('<container>')
    .option('--alias <a>', 'network-scoped alias', collect)
    .option('--ip <ip>', 'IPv4 address')
    .action(async (network: string, container: string, f: { alias?: string[]; ip?: string }) => {
      await client().call('POST', `/networks/${encodeURIComponent(network)}/connect`, { body: { Container: container, EndpointConfig: { Aliases: f.alias ?? [], ...(f.ip ? { IPAMConfig: { IPv4Address: f.ip } } : {}) } } });
    });
  net
    .command('disconnect')
    .argument('<network>')
    .argument('<container>')
    .option('-f, --force', 'force')
    .action(async (network: string, container: string, f: { force?: boolean }) => {
      await client().call('POST', `/networks/${encodeURIComponent(network)}/disconnect`, { body: { Container: container, Force: f.force === true } });
    });
  net
    .command('prune')
    .option('-f, --force', 'do not prompt')
    .action(async () => {
      const r = asRecord(await client().json('POST', '/networks/prune'));
      const del = asArray(r['NetworksDeleted']).map((x) => s(x));
      if (del.length > 0) process.stdout.write(`Deleted Networks:\n${del.join('\n')}\n`);
    });
}
