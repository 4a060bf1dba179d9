/**
 * `shoal build`: the docker CLI's classic `build` — the context directory packed as a tar (with
 * .dockerignore applied, as the docker CLI does; the Dockerfile and .dockerignore always go), or a
 * tar on STDIN (`-`), sent to POST /build; the daemon's build output printed as it arrives.
 */
import { createHash } from 'node:crypto';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { pack, type Pack } from 'tar-stream';
import type { JsonMessage } from '../../worker/engine/api/jsonmessage.js';
import { IgnoreMatcher } from '../../worker/engine/build/path-match.js';
import type { ClientOf } from './container-commands.js';
import { FlagError } from './run-flags.js';

interface BuildFlags {
  tag?: string[];
  file?: string;
  buildArg?: string[];
  label?: string[];
  target?: string;
  cache?: boolean;
  pull?: boolean;
  quiet?: boolean;
  network?: string;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function addEntry(p: Pack, header: Parameters<Pack['entry']>[0], body?: Readable | Buffer): Promise<void> {
  return new Promise((res, rej) => {
    if (body === undefined || Buffer.isBuffer(body)) {
      p.entry(header, body ?? Buffer.alloc(0), (e) => (e ? rej(e) : res()));
      return;
    }
    const sink = p.entry(header, (e) => (e ? rej(e) : res()));
    pipeline(body, sink).catch(rej);
  });
}

/**
 * The context directory as a tar stream. A Dockerfile from outside the context (`extra`) is added
 * under its own name and listed in the archive's .dockerignore, as the docker CLI does, so that
 * `COPY .` does not pick it up.
 */
export async function contextTar(dir: string, dockerfileRel: string | undefined, extra?: { name: string; data: Buffer }): Promise<Readable> {
  let ignoreText: string | undefined;
  try {
    ignoreText = await readFile(join(dir, '.dockerignore'), 'utf8');
  } catch {
    ignoreText = undefined;
  }
  const ignore = IgnoreMatcher.parse(ignoreText ?? '');
  const always = new Set(['.dockerignore', dockerfileRel ?? 'Dockerfile']);
  const p = pack();
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(rel === '' ? dir : join(dir, rel))).sort()) {
      const child = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(join(dir, child));
      const ignored = ignore.matches(child) && !always.has(child);
      if (st.isDirectory()) {
        if (ignored && !ignore.hasExceptions()) continue;
        if (!ignored) await addEntry(p, { name: child, type: 'directory', mode: st.mode & 0o7777, mtime: st.mtime });
        await walk(child);
        continue;
      }
      if (ignored || (extra !== undefined && child === '.dockerignore')) continue;
      const base = { name: child, mode: st.mode & 0o7777, mtime: st.mtime };
      if (st.isSymbolicLink()) await addEntry(p, { ...base, type: 'symlink', linkname: await readlink(join(dir, child)) });
      else if (st.isFile()) await addEntry(p, { ...base, type: 'file', size: st.size }, createReadStream(join(dir, child)));
    }
  };
  void (async () => {
    try {
      if (extra !== undefined) {
        const ig = Buffer.from(`${ignoreText ?? ''}\n${extra.name}\n`);
        await addEntry(p, { name: extra.name, type: 'file', mode: 0o600, size: extra.data.length }, extra.data);
        await addEntry(p, { name: '.dockerignore', type: 'file', mode: 0o644, size: ig.length }, ig);
      }
      await walk('');
      p.finalize();
    } catch (e) {
      p.destroy(e as Error);
    }
  })();
  return Readable.from(p as AsyncIterable<Buffer>);
}

/** `--build-arg K=V`, or `K` alone: the value of K in this environment (skipped when unset, as docker does). */
export function buildArgs(list: readonly string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list) {
    const eq = a.indexOf('=');
    if (eq === 0) throw new FlagError(`invalid argument "${a}" for "--build-arg" flag: a name is needed before =`);
    if (eq > 0) out[a.slice(0, eq)] = a.slice(eq + 1);
    else if (env[a] !== undefined) out[a] = env[a]!;
  }
  return out;
}

function labels(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const eq = l.indexOf('=');
    if (eq === 0) throw new FlagError(`invalid argument "${l}" for "--label" flag: a key is needed`);
    if (eq < 0) out[l] = '';
    else out[l.slice(0, eq)] = l.slice(eq + 1);
  }
  return out;
}

/** Prints build messages as they come; resolves with the image ID; an error message rejects. */
export async function followBuild(res: AsyncIterable<unknown>, quiet: boolean, out: NodeJS.WritableStream = process.stdout): Promise<string> {
  let rest = '';
  let id = '';
  let error: string | undefined;
  const handle = (line: string): void => {
    if (line.trim() === '') return;
    let m: JsonMessage;
    try {
      m = JSON.parse(line) as JsonMessage;
    } catch {
      return;
    }
    if (m.errorDetail !== undefined || m.error !== undefined) {
      error ??= m.errorDetail?.message ?? m.error ?? 'build failed';
      return;
    }
    if (typeof m.aux?.['ID'] === 'string') id = m.aux['ID'];
    if (quiet) return;
    if (m.stream !== undefined) out.write(m.stream);
    else if (m.status !== undefined) out.write(`${m.id ? `${m.id}: ` : ''}${m.status}${m.progress ? ` ${m.progress}` : ''}\n`);
  };
  for await (const chunk of res) {
    rest += (chunk as Buffer).toString('utf8');
    const lines = rest.split('\n');
    rest = lines.pop()!;
    for (const l of lines) handle(l);
  }
  handle(rest);
  if (error !== undefined) throw new Error(error);
  if (quiet && id !== '') out.write(`${id}\n`);
  return id;
}

export function registerBuildCommands(program: Command, client: ClientOf): void {
  program
    .command('build')
    .description('Build an image from a Dockerfile')
    .argument('<context>', 'context directory, or - for a tar archive on STDIN')
    .option('-t, --tag <name>', 'name and optionally a tag (name:tag); repeatable', collect)
    .option('-f, --file <path>', 'the Dockerfile (default: PATH/Dockerfile); - reads it from STDIN')
    .option('--build-arg <k=v>', 'set a build-time variable; repeatable', collect)
    .option('--label <k=v>', 'set metadata on the image; repeatable', collect)
    .option('--target <stage>', 'build up to this stage')
    .option('--no-cache', 'do not use the build cache')
    .option('--pull', 'always pull the base images')
    .option('-q, --quiet', 'print only the image ID')
    .option('--network <mode>', 'network mode of the RUN steps (default: bridge)')
    .action(async (context: string, f: BuildFlags) => {
      let stream: Readable;
      let dockerfile: string | undefined;
      if (context === '-') {
        if (f.file === '-') throw new FlagError('invalid argument: can\'t use stdin for both the build context and the Dockerfile');
        stream = process.stdin;
        dockerfile = f.file;
      } else {
        const dir = resolve(context);
        let st;
        try {
          st = await lstat(dir);
        } catch {
          throw new FlagError(`unable to prepare context: path "${context}" not found`);
        }
        if (!st.isDirectory()) throw new FlagError(`unable to prepare context: context must be a directory: ${context}`);
        let extra: { name: string; data: Buffer } | undefined;
        // named after its content, so an unchanged Dockerfile gives an unchanged context (and cache hits)
        const named = (data: Buffer): { name: string; data: Buffer } => ({ name: `.dockerfile.${createHash('sha256').update(data).digest('hex').slice(0, 20)}`, data });
        if (f.file === '-') {
          const parts: Buffer[] = [];
          for await (const c of process.stdin) parts.push(c as Buffer);
          extra = named(Buffer.concat(parts));
          dockerfile = extra.name;
        } else if (f.file !== undefined) {
          const abs = isAbsolute(f.file) ? f.file : resolve(f.file);
          const rel = relative(dir, abs);
          if (rel.startsWith('..') || isAbsolute(rel)) {
            extra = named(await readFile(abs));
            dockerfile = extra.name;
          } else dockerfile = rel;
        }
        stream = await contextTar(dir, dockerfile, extra);
      }
      const res = await client().open('POST', '/build', {
        query: {
          t: f.tag ?? [],
          dockerfile,
          buildargs: JSON.stringify(buildArgs(f.buildArg ?? [], process.env)),
          labels: JSON.stringify(labels(f.label ?? [])),
          target: f.target,
          nocache: f.cache === false ? true : undefined,
          pull: f.pull === true ? true : undefined,
          q: f.quiet === true ? true : undefined,
          networkmode: f.network,
        },
        stream,
        contentType: 'application/x-tar',
        timeoutMs: 10 * 60_000,
      });
      await followBuild(res, f.quiet === true);
    });
}
