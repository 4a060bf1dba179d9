/** `shoal version`, `shoal info`, `shoal events`. */
import type { Command } from 'commander';
import { asArray, asRecord, n, s } from './format.js';
import type { ClientOf } from './container-commands.js';
import { CLIENT_API_VERSION } from '../api-client.js';

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

export function registerSystemCommands(program: Command, client: ClientOf): void {
  program
    .command('version')
    .description('Show the shoal version information')
    .action(async () => {
      process.stdout.write(`Client:\n Version:     0.1.0\n API version: ${CLIENT_API_VERSION}\n Node:        ${process.versions.node}\n\n`);
      const v = asRecord(await client().json('GET', '/version'));
      process.stdout.write(`Server: ${s(asRecord(v['Platform'])['Name'])}\n Version:     ${s(v['Version'])}\n API version: ${s(v['ApiVersion'])} (minimum version ${s(v['MinAPIVersion'])})\n OS/Arch:     ${s(v['Os'])}/${s(v['Arch'])}\n Kernel:      ${s(v['KernelVersion'])}\n`);
    });
  program
    .command('info')
    .description('Display system-wide information')
    .action(async () => {
      const i = asRecord(await client().json('GET', '/info'));
      const lines = [
        'Server:',
        ` Containers: ${n(i['Containers'])}`,
        `  Running: ${n(i['ContainersRunning'])}`,
        `  Paused: ${n(i['ContainersPaused'])}`,
        `  Stopped: ${n(i['ContainersStopped'])}`,
        ` Images: ${n(i['Images'])}`,
        ` Server Version: ${s(i['ServerVersion'])}`,
        ` Storage Driver: ${s(i['Driver'])}`,
        ` Cgroup Version: ${s(i['CgroupVersion'])}`,
        ` Swarm: ${s(asRecord(i['Swarm'])['LocalNodeState'])}`,
        ` Default Runtime: ${s(i['DefaultRuntime'])}`,
        ` Kernel Version: ${s(i['KernelVersion'])}`,
        ` Architecture: ${s(i['Architecture'])}`,
        ` CPUs: ${n(i['NCPU'])}`,
        ` Total Memory: ${(n(i['MemTotal']) / 1024 ** 3).toFixed(2)}GiB`,
        ` Name: ${s(i['Name'])}`,
        ` Root Dir: ${s(i['DockerRootDir'])}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      for (const w of asArray(i['Warnings'])) process.stderr.write(`WARNING: ${s(w)}\n`);
    });
  program
    .command('events')
    .description('Get real time events from the server')
    .option('--since <t>', 'show events since (unix seconds or RFC 3339)')
    .option('--until <t>', 'stream events until (unix seconds or RFC 3339)')
    .option('-f, --filter <k=v>', 'filter output (type=container, event=start, …)', collect)
    .action(async (f: { since?: string; until?: string; filter?: string[] }) => {
      const filters: Record<string, Record<string, boolean>> = {};
      for (const x of f.filter ?? []) {
        const i = x.indexOf('=');
        if (i < 0) throw new Error(`bad filter ${x}: expected key=value`);
        (filters[x.slice(0, i)] ??= {})[x.slice(i + 1)] = true;
      }
      const res = await client().open('GET', '/events', { query: { since: f.since, until: f.until, filters: Object.keys(filters).length > 0 ? JSON.stringify(filters) : undefined } });
      let buf = '';
      for await (const chunk of res) {
        buf += String(chunk);
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.trim() === '') continue;
          const e = asRecord(JSON.parse(line));
          const actor = asRecord(e['Actor']);
          const attrs = Object.entries(asRecord(actor['Attributes'])).map(([k, v]) => `${k}=${s(v)}`);
          const t = new Date(Math.floor(n(e['timeNano']) / 1e6)).toISOString();
          process.stdout.write(`${t} ${s(e['Type'])} ${s(e['Action'])} ${s(actor['ID'])}${attrs.length > 0 ? ` (${attrs.join(', ')})` : ''}\n`);
        }
      }
    });
}
