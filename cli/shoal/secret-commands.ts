/**
 * `shoal secret create|ls|inspect|rm` and (through the same builder, see config-commands.ts) `shoal
 * config …`, with the docker CLI's flags, columns and messages. Data comes from a file or `-` (stdin).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { asArray, asRecord, humanAgo, s, table } from './format.js';
import { ApiResponseError } from '../api-client.js';
import type { ClientOf } from './container-commands.js';
import { FlagError } from './run-flags.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function labels(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list ?? []) {
    const i = l.indexOf('=');
    out[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  return out;
}

async function readStdin(): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Docker's filter flags (`-f k=v`) as the API's filters JSON. */
function filtersJson(list: string[] | undefined): string | undefined {
  if (!list || list.length === 0) return undefined;
  const f: Record<string, Record<string, boolean>> = {};
  for (const x of list) {
    const i = x.indexOf('=');
    if (i <= 0) throw new FlagError(`bad format of filter (expected name=value): ${x}`);
    (f[x.slice(0, i)] ??= {})[x.slice(i + 1)] = true;
  }
  return JSON.stringify(f);
}

const ago = (iso: unknown): string => {
  const t = Date.parse(s(iso));
  return Number.isFinite(t) ? humanAgo(t / 1000) : '';
};

export interface DataKind {
  /** 'secret' or 'config' */
  kind: 'secret' | 'config';
  /** API path prefix */
  path: '/secrets' | '/configs';
  description: string;
}

export function registerDataCommands(program: Command, client: ClientOf, k: DataKind): void {
  const cmd = program.command(k.kind).description(k.description);

  cmd
    .command('create')
    .argument('<name>')
    .argument('<file|->', `file to read the ${k.kind} from, or - for STDIN`)
    .option('-l, --label <k=v>', `${k.kind} labels`, collect)
    .option('--template-driver <name>', 'template driver')
    .action(async (name: string, file: string, f: { label?: string[]; templateDriver?: string }) => {
      const data = file === '-' ? await readStdin() : await readFile(file).catch((e: NodeJS.ErrnoException) => {
        throw new FlagError(`error reading content from "${file}": ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`);
      });
      if (data.length === 0) throw new FlagError(`error reading from ${file === '-' ? 'STDIN' : file}: data is empty`);
      const body = { Name: name, Labels: labels(f.label), Data: data.toString('base64'), ...(f.templateDriver ? { Templating: { Name: f.templateDriver } } : {}) };
      const r = asRecord(await client().json('POST', `${k.path}/create`, { body }));
      process.stdout.write(`${s(r['ID'])}\n`);
    });

  cmd
    .command('ls')
    .alias('list')
    .option('-q, --quiet', 'only display IDs')
    .option('-f, --filter <f>', 'filter output (id, label, name)', collect)
    .action(async (f: { quiet?: boolean; filter?: string[] }) => {
      const list = asArray(await client().json('GET', k.path, { query: { filters: filtersJson(f.filter) } }))
        .map(asRecord)
        .sort((a, b) => s(asRecord(a['Spec'])['Name']).localeCompare(s(asRecord(b['Spec'])['Name'])));
      if (f.quiet) {
        process.stdout.write(list.map((x) => `${s(x['ID'])}\n`).join(''));
        return;
      }
      if (k.kind === 'secret') {
        const rows = list.map((x) => [s(x['ID']), s(asRecord(x['Spec'])['Name']), s(asRecord(asRecord(x['Spec'])['Driver'])['Name']), ago(x['CreatedAt']), ago(x['UpdatedAt'])]);
        process.stdout.write(table(['ID', 'NAME', 'DRIVER', 'CREATED', 'UPDATED'], rows));
      } else {
        const rows = list.map((x) => [s(x['ID']), s(asRecord(x['Spec'])['Name']), ago(x['CreatedAt']), ago(x['UpdatedAt'])]);
        process.stdout.write(table(['ID', 'NAME', 'CREATED', 'UPDATED'], rows));
      }
    });

  cmd
    .command('inspect')
    .argument(`<${k.kind}...>`)
    .option('--pretty', 'print the information in a human friendly format')
    .action(async (refs: string[], f: { pretty?: boolean }) => {
      const c = client();
      const out: Record<string, unknown>[] = [];
      for (const ref of refs) out.push(asRecord(await c.json('GET', `${k.path}/${encodeURIComponent(ref)}`)));
      if (!f.pretty) {
        process.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
        return;
      }
      const blocks = out.map((x) => {
        const spec = asRecord(x['Spec']);
        const lines = [`ID:              ${s(x['ID'])}`, `Name:              ${s(spec['Name'])}`];
        const l = asRecord(spec['Labels']);
        if (Object.keys(l).length > 0) {
          lines.push('Labels:');
          for (const [key, v] of Object.entries(l)) lines.push(` - ${key}=${s(v)}`);
        }
        if (k.kind === 'secret') lines.push(`Driver:            ${s(asRecord(spec['Driver'])['Name'])}`);
        lines.push(`Created at:        ${s(x['CreatedAt'])}`, `Updated at:        ${s(x['UpdatedAt'])}`);
        if (k.kind === 'config') lines.push('Data:', Buffer.from(s(spec['Data']), 'base64').toString('utf8').replace(/\n$/, ''));
        return lines.join('\n');
      });
      process.stdout.write(`${blocks.join('\n\n')}\n`);
    });

  cmd
    .command('rm')
    .alias('remove')
    .argument(`<${k.kind}...>`)
    .action(async (refs: string[]) => {
      const c = client();
      let failed: unknown;
      for (const ref of refs) {
        try {
          await c.call('DELETE', `${k.path}/${encodeURIComponent(ref)}`);
          process.stdout.write(`${ref}\n`);
        } catch (e) {
          // like docker: every failure is reported, the exit status is 1 if any failed
          if (failed !== undefined) process.stderr.write(`${e instanceof ApiResponseError ? 'Error response from daemon: ' : 'Error: '}${(e as Error).message}\n`);
          failed ??= e;
        }
      }
      if (failed !== undefined) throw failed;
    });
}

export function registerSecretCommands(program: Command, client: ClientOf): void {
  registerDataCommands(program, client, { kind: 'secret', path: '/secrets', description: 'Manage Swarm secrets' });
}
