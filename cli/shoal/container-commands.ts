/** Container commands: run, ps, logs, exec, start, stop, kill, restart, rm, inspect. */
import type { Command } from 'commander';
import type { ApiClient } from '../api-client.js';
import { asArray, asRecord, humanAgo, n, s, shortId, table, truncate } from './format.js';
import { createBody, type RunFlags } from './run-flags.js';
import { copyOutput, MUX_STREAM } from './stream-io.js';

export type ClientOf = () => ApiClient;

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

function portsText(ports: unknown): string {
  return asArray(ports)
    .map(asRecord)
    .map((p) => (p['PublicPort'] ? `${s(p['IP'], '0.0.0.0')}:${n(p['PublicPort'])}->${n(p['PrivatePort'])}/${s(p['Type'], 'tcp')}` : `${n(p['PrivatePort'])}/${s(p['Type'], 'tcp')}`))
    .join(', ');
}

/** Sends stdin to a hijacked socket (half-closing it at EOF), raw mode on a terminal. */
function pumpStdin(socket: NodeJS.WritableStream & { end(): void }, tty: boolean): void {
  if (tty && process.stdin.isTTY) process.stdin.setRawMode(true);
  process.stdin.on('data', (c) => socket.write(c));
  process.stdin.on('end', () => socket.end());
}

async function runCommand(client: ApiClient, image: string, cmd: string[], f: RunFlags): Promise<number> {
  const body = createBody(image, cmd, f);
  const created = await client.json<{ Id: string; Warnings?: string[] }>('POST', '/containers/create', { query: { name: f.name }, body });
  for (const w of created.Warnings ?? []) process.stderr.write(`WARNING: ${w}\n`);
  const id = created.Id;
  let attached: Promise<void> | undefined;
  if (!f.detach) {
    const h = await client.hijack(`/containers/${id}/attach`, { query: { stream: true, stdout: true, stderr: true, stdin: f.interactive === true } });
    if (f.interactive) pumpStdin(h.socket, f.tty === true);
    attached = copyOutput(h.socket, h.contentType === MUX_STREAM, process.stdout, process.stderr, h.head);
  }
  const waiting = await client.open('POST', `/containers/${id}/wait`, { query: { condition: f.rm ? 'removed' : 'next-exit' } });
  const waitBody = (async () => {
    const parts: Buffer[] = [];
    for await (const c of waiting) parts.push(c as Buffer);
    return JSON.parse(Buffer.concat(parts).toString('utf8')) as { StatusCode?: number; Error?: { Message?: string } | null };
  })();
  try {
    await client.call('POST', `/containers/${id}/start`);
  } catch (e) {
    waiting.destroy();
    if (f.rm) await client.call('DELETE', `/containers/${id}`, { query: { force: true } }).catch(() => undefined);
    throw e;
  }
  if (f.detach) {
    waiting.destroy();
    process.stdout.write(`${id}\n`);
    return 0;
  }
  const [r] = await Promise.all([waitBody, attached]);
  if (process.stdin.isTTY && f.tty) process.stdin.setRawMode(false);
  process.stdin.pause();
  if (r.Error?.Message) process.stderr.write(`Error: ${r.Error.Message}\n`);
  return r.StatusCode ?? 0;
}

export function registerContainerCommands(program: Command, client: ClientOf, exit: (code: number) => void): void {
  program
    .command('run')
    .description('Create and run a new container from an image')
    .argument('<image>')
    .argument('[command...]')
    .option('-d, --detach', 'run in the background and print the container ID')
    .option('--rm', 'remove the container when it exits')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable', collect)
    .option('-p, --publish <spec>', 'publish a port ([ip:][hostPort:]containerPort[/proto])', collect)
    .option('-v, --volume <spec>', 'bind mount or named volume (src:dst[:ro])', collect)
    .option('-l, --label <k=v>', 'set a label', collect)
    .option('--tmpfs <dst[:opts]>', 'mount a tmpfs', collect)
    .option('--name <name>', 'container name')
    .option('-m, --memory <bytes>', 'memory limit (e.g. 64m)')
    .option('--cpus <n>', 'number of CPUs')
    .option('--pids-limit <n>', 'process limit')
    .option('--network <net>', 'network to connect to')
    .option('-i, --interactive', 'keep stdin open')
    .option('-t, --tty', 'allocate a pseudo-TTY')
    .option('--restart <policy>', 'restart policy (no, always, unless-stopped, on-failure[:n])')
    .option('--entrypoint <cmd>', 'override the image entrypoint')
    .option('-w, --workdir <dir>', 'working directory')
    .option('-u, --user <user>', 'user[:group]')
    .option('-h, --hostname <name>', 'container host name')
    .option('--health-cmd <cmd>', 'health check command')
    .option('--health-interval <d>', 'time between checks')
    .option('--health-timeout <d>', 'check timeout')
    .option('--health-retries <n>', 'failures before unhealthy')
    .passThroughOptions()
    .action(async (image: string, cmd: string[], f: RunFlags) => exit(await runCommand(client(), image, cmd, f)));

  program
    .command('ps')
    .description('List containers')
    .option('-a, --all', 'show all containers (default shows just running)')
    .option('-q, --quiet', 'only display container IDs')
    .option('--no-trunc', 'do not truncate output')
    .action(async (f: { all?: boolean; quiet?: boolean; trunc?: boolean }) => {
      const list = (await client().json<unknown[]>('GET', '/containers/json', { query: { all: f.all === true } })).map(asRecord);
      if (f.quiet) {
        process.stdout.write(list.map((c) => `${f.trunc === false ? s(c['Id']) : shortId(s(c['Id']))}\n`).join(''));
        return;
      }
      const rows = list.map((c) => [
        f.trunc === false ? s(c['Id']) : shortId(s(c['Id'])),
        s(c['Image']),
        JSON.stringify(f.trunc === false ? s(c['Command']) : truncate(s(c['Command']), 20)),
        humanAgo(n(c['Created'])),
        s(c['Status']),
        portsText(c['Ports']),
        asArray(c['Names']).map((x) => s(x).replace(/^\//, '')).join(','),
      ]);
      process.stdout.write(table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'], rows));
    });

  program
    .command('logs')
    .description('Fetch the logs of a container')
    .argument('<container>')
    .option('-f, --follow', 'follow log output')
    .option('-n, --tail <n>', 'number of lines from the end', 'all')
    .option('-t, --timestamps', 'show timestamps')
    .option('--since <ts>', 'since (unix seconds)')
    .option('--until <ts>', 'until (unix seconds)')
    .action(async (name: string, f: { follow?: boolean; tail: string; timestamps?: boolean; since?: string; until?: string }) => {
      const c = client();
      const info = asRecord(await c.json('GET', `/containers/${encodeURIComponent(name)}/json`));
      const tty = asRecord(info['Config'])['Tty'] === true;
      const res = await c.open('GET', `/containers/${s(info['Id'], name)}/logs`, { query: { stdout: true, stderr: true, follow: f.follow === true, tail: f.tail, timestamps: f.timestamps === true, since: f.since, until: f.until } });
      await copyOutput(res, !tty);
    });

  program
    .command('exec')
    .description('Run a command in a running container')
    .argument('<container>')
    .argument('<command...>')
    .option('-i, --interactive', 'keep stdin open')
    .option('-t, --tty', 'allocate a pseudo-TTY')
    .option('-d, --detach', 'run in the background')
    .option('-e, --env <KEY=VALUE>', 'environment variable', collect)
    .option('-u, --user <user>', 'user')
    .option('-w, --workdir <dir>', 'working directory')
    .passThroughOptions()
    .action(async (name: string, cmd: string[], f: { interactive?: boolean; tty?: boolean; detach?: boolean; env?: string[]; user?: string; workdir?: string }) => {
      const c = client();
      const info = asRecord(await c.json('GET', `/containers/${encodeURIComponent(name)}/json`));
      if (asRecord(info['State'])['Running'] !== true) throw new Error(`container ${name} is not running`);
      const id = s(info['Id'], name);
      const created = await c.json<{ Id: string }>('POST', `/containers/${id}/exec`, {
        body: { User: f.user ?? '', Privileged: false, Tty: f.tty === true, AttachStdin: f.interactive === true, AttachStdout: !f.detach, AttachStderr: !f.detach, Detach: f.detach === true, Env: f.env ?? null, WorkingDir: f.workdir ?? '', Cmd: cmd },
      });
      if (f.detach) {
        await c.call('POST', `/exec/${created.Id}/start`, { body: { Detach: true, Tty: f.tty === true } });
        return;
      }
      const h = await c.hijack(`/exec/${created.Id}/start`, { body: { Detach: false, Tty: f.tty === true } });
      if (f.interactive) pumpStdin(h.socket, f.tty === true);
      await copyOutput(h.socket, h.contentType === MUX_STREAM, process.stdout, process.stderr, h.head);
      if (process.stdin.isTTY && f.tty) process.stdin.setRawMode(false);
      process.stdin.pause();
      const r = asRecord(await c.json('GET', `/exec/${created.Id}/json`));
      exit(n(r['ExitCode']));
    });

  const simple = (name: string, desc: string, path: (id: string) => string, method: string, extra: (cmd: Command) => Command, query: (f: Record<string, unknown>) => Record<string, string | boolean | undefined>): void => {
    extra(program.command(name).description(desc).argument('<containers...>')).action(async (ids: string[], f: Record<string, unknown>) => {
      let failed = false;
      for (const id of ids) {
        try {
          await client().call(method, path(encodeURIComponent(id)), { query: query(f), timeoutMs: 5 * 60_000 });
          process.stdout.write(`${id}\n`);
        } catch (e) {
          failed = true;
          process.stderr.write(`Error response from daemon: ${(e as Error).message}\n`);
        }
      }
      if (failed) exit(1);
    });
  };
  simple('start', 'Start one or more stopped containers', (id) => `/containers/${id}/start`, 'POST', (c) => c, () => ({}));
  simple('stop', 'Stop one or more running containers', (id) => `/containers/${id}/stop`, 'POST', (c) => c.option('-t, --time <s>', 'seconds to wait before killing').option('-s, --signal <sig>', 'signal to send'), (f) => ({ t: f['time'] as string | undefined, signal: f['signal'] as string | undefined }));
  simple('restart', 'Restart one or more containers', (id) => `/containers/${id}/restart`, 'POST', (c) => c.option('-t, --time <s>', 'seconds to wait before killing'), (f) => ({ t: f['time'] as string | undefined }));
  simple('kill', 'Kill one or more running containers', (id) => `/containers/${id}/kill`, 'POST', (c) => c.option('-s, --signal <sig>', 'signal to send', 'KILL'), (f) => ({ signal: f['signal'] as string }));
  simple('rm', 'Remove one or more containers', (id) => `/containers/${id}`, 'DELETE', (c) => c.option('-f, --force', 'kill a running container first').option('-v, --volumes', 'remove anonymous volumes'), (f) => ({ force: f['force'] === true, v: f['volumes'] === true }));

  program
    .command('inspect')
    .description('Return low-level information on containers, images, networks or volumes')
    .argument('<names...>')
    .action(async (names: string[]) => {
      const c = client();
      const out: unknown[] = [];
      let missing = false;
      for (const name of names) {
        const e = encodeURIComponent(name);
        let found: unknown;
        for (const path of [`/containers/${e}/json`, `/images/${name}/json`, `/networks/${e}`, `/volumes/${e}`]) {
          try {
            found = await c.json('GET', path);
            break;
          } catch (err) {
            if ((err as { status?: number }).status !== 404 && (err as { status?: number }).status !== 501) throw err;
          }
        }
        if (found === undefined) {
          missing = true;
          process.stderr.write(`Error: No such object: ${name}\n`);
        } else out.push(found);
      }
      process.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
      if (missing) exit(1);
    });
}
