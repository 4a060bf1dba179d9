/** Image commands: images, tag, rmi, save, load, import. */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { firstError, parseJsonMessages } from '../../worker/engine/api/jsonmessage.js';
import { asArray, asRecord, humanAgo, humanSize, n, s, shortId, table } from './format.js';
import type { ClientOf } from './container-commands.js';

function splitRef(ref: string): { repo: string; tag: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: 'latest' };
}

function printMessages(body: Buffer): void {
  const ms = parseJsonMessages(body.toString('utf8'));
  const err = firstError(ms);
  for (const m of ms) {
    if (m.stream) process.stdout.write(m.stream);
    else if (m.status) process.stdout.write(`${m.status}\n`);
  }
  if (err) throw new Error(err);
}

export function registerImageCommands(program: Command, client: ClientOf): void {
  program
    .command('images')
    .description('List images')
    .option('-q, --quiet', 'only show image IDs')
    .action(async (f: { quiet?: boolean }) => {
      const list = (await client().json<unknown[]>('GET', '/images/json')).map(asRecord);
      if (f.quiet) {
        process.stdout.write([...new Set(list.map((i) => shortId(s(i['Id']))))].map((x) => `${x}\n`).join(''));
        return;
      }
      const rows: string[][] = [];
      for (const i of list) {
        const tags = asArray(i['RepoTags']).map((t) => s(t));
        for (const t of tags.length > 0 ? tags : ['<none>:<none>']) {
          const { repo, tag } = splitRef(t);
          rows.push([repo, tag, shortId(s(i['Id'])), humanAgo(n(i['Created'])), humanSize(n(i['Size']))]);
        }
      }
      process.stdout.write(table(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], rows));
    });
  program
    .command('tag')
    .description('Create a tag TARGET that refers to SOURCE')
    .argument('<source>')
    .argument('<target>')
    .action(async (source: string, target: string) => {
      const { repo, tag } = splitRef(target);
      await client().call('POST', `/images/${source}/tag`, { query: { repo, tag } });
    });
  program
    .command('rmi')
    .description('Remove one or more images')
    .argument('<images...>')
    .option('-f, --force', 'force removal')
    .action(async (refs: string[], f: { force?: boolean }) => {
      for (const ref of refs) {
        const r = (await client().json<unknown[]>('DELETE', `/images/${ref}`, { query: { force: f.force === true } })).map(asRecord);
        for (const x of r) process.stdout.write(x['Untagged'] ? `Untagged: ${s(x['Untagged'])}\n` : `Deleted: ${s(x['Deleted'])}\n`);
      }
    });
  program
    .command('save')
    .description('Save one or more images to a tar archive (streamed to STDOUT by default)')
    .argument('<images...>')
    .option('-o, --output <file>', 'write to a file instead of STDOUT')
    .action(async (refs: string[], f: { output?: string }) => {
      if (!f.output && process.stdout.isTTY) throw new Error('cowardly refusing to save to a terminal. Use the -o flag or redirect');
      const res = await client().open('GET', '/images/get', { query: { names: refs }, timeoutMs: 10 * 60_000 });
      await pipeline(res, f.output ? createWriteStream(f.output) : process.stdout);
    });
  program
    .command('load')
    .description('Load an image from a tar archive or STDIN')
    .option('-i, --input <file>', 'read from a tar archive file instead of STDIN')
    .option('-q, --quiet', 'suppress the load output')
    .action(async (f: { input?: string; quiet?: boolean }) => {
      const stream = f.input ? createReadStream(f.input) : process.stdin;
      const r = await client().call('POST', '/images/load', { query: { quiet: f.quiet === true }, stream, timeoutMs: 10 * 60_000 });
      printMessages(r.body);
    });
  program
    .command('import')
    .description('Import the contents from a tarball to create a filesystem image')
    .argument('<file>', 'tarball path or - for STDIN')
    .argument('[reference]', 'repository[:tag]')
    .option('-c, --change <instruction>', 'apply a Dockerfile instruction to the image', (v: string, prev: string[] = []) => [...prev, v])
    .option('-m, --message <msg>', 'commit message')
    .action(async (file: string, ref: string | undefined, f: { change?: string[]; message?: string }) => {
      const stream = file === '-' ? process.stdin : createReadStream(file);
      const { repo, tag } = ref ? splitRef(ref) : { repo: undefined, tag: undefined };
      const r = await client().call('POST', '/images/create', { query: { fromSrc: '-', repo, tag, changes: f.change ?? [], message: f.message }, stream, timeoutMs: 10 * 60_000 });
      printMessages(r.body);
    });
}
