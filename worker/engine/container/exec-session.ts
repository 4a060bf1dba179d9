/** `docker exec`: a process started in a running container with `<runtime> exec --process`, piped stdio. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import type { OciRuntime } from '../runtime/oci-runtime.js';
import { badRequest } from './errors.js';
import { execProcessSpec } from './oci-spec.js';
import type { ContainerRecord } from './types.js';

export interface ExecCreateBody {
  Cmd?: string[];
  Env?: string[] | null;
  User?: string;
  WorkingDir?: string;
  Tty?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Privileged?: boolean;
  DetachKeys?: string;
}

export interface OutputChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

export interface ExecHandle {
  stdin?: Writable;
  output: AsyncIterable<OutputChunk>;
  wait(): Promise<number>;
}

/** Docker's GET /exec/{id}/json shape. */
export interface ExecInspect {
  ID: string;
  ContainerID: string;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  OpenStdin: boolean;
  OpenStdout: boolean;
  OpenStderr: boolean;
  CanRemove: boolean;
  DetachKeys: string;
  ProcessConfig: { tty: boolean; entrypoint: string; arguments: string[]; privileged: boolean; user: string };
}

export class ExecSession {
  readonly id = randomBytes(32).toString('hex');
  running = false;
  exitCode: number | null = null;
  pid = 0;
  started = false;

  constructor(
    readonly containerId: string,
    readonly body: ExecCreateBody,
  ) {
    if (!Array.isArray(body.Cmd) || body.Cmd.length === 0 || !body.Cmd.every((c) => typeof c === 'string')) throw badRequest('No exec command specified');
  }

  inspect(): ExecInspect {
    const [ep = '', ...args] = this.body.Cmd ?? [];
    return {
      ID: this.id,
      ContainerID: this.containerId,
      Running: this.running,
      ExitCode: this.exitCode,
      Pid: this.pid,
      OpenStdin: this.body.AttachStdin === true,
      OpenStdout: this.body.AttachStdout !== false,
      OpenStderr: this.body.AttachStderr !== false,
      CanRemove: false,
      DetachKeys: this.body.DetachKeys ?? '',
      ProcessConfig: { tty: this.body.Tty === true, entrypoint: ep, arguments: args, privileged: this.body.Privileged === true, user: this.body.User ?? '' },
    };
  }

  /** Starts the process; `timeoutMs` kills it (health checks). */
  async start(runtime: OciRuntime, r: ContainerRecord, bundleDir: string, user: ContainerRecord['user'] | undefined, opts: { timeoutMs?: number } = {}): Promise<ExecHandle> {
    if (this.started) throw badRequest(`exec ${this.id} has already been started`);
    this.started = true;
    const tty = this.body.Tty === true;
    const spec = execProcessSpec(r, { cmd: this.body.Cmd ?? [], env: [...(tty ? ['TERM=xterm'] : []), ...(this.body.Env ?? [])], user, workingDir: this.body.WorkingDir, tty });
    const file = join(bundleDir, `exec-${this.id.slice(0, 16)}.json`);
    await writeFile(file, JSON.stringify(spec));
    const withStdin = this.body.AttachStdin === true;
    // a foreground `runtime exec` with a terminal needs a controlling tty of its own: script(1) provides one
    const pidFile = join(bundleDir, `exec-${this.id.slice(0, 16)}.pid`);
    const argv = [runtime.path, ...runtime.execArgs(r.id, file, pidFile)];
    const child = tty
      ? spawn('script', ['-qfec', `stty raw -echo 2>/dev/null; exec ${argv.map(shellQuote).join(' ')}`, '/dev/null'], { stdio: [withStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] })
      : spawn(argv[0]!, argv.slice(1), { stdio: [withStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    this.running = true;
    this.pid = child.pid ?? 0;
    const queue: OutputChunk[] = [];
    let wake: (() => void) | undefined;
    let open = 2;
    const poke = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const onData = (stream: 'stdout' | 'stderr') => (d: Buffer): void => {
      queue.push({ stream, data: d });
      poke();
    };
    const onEnd = (): void => {
      open--;
      poke();
    };
    child.stdout?.on('data', onData('stdout')).on('end', onEnd);
    child.stderr?.on('data', onData('stderr')).on('end', onEnd);
    // killing the runtime's exec process leaves the exec'd process running in the container: kill that one
    const killProcess = async (): Promise<void> => {
      const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      child.kill('SIGKILL');
    };
    const started = readPidSoon(pidFile).then((pid) => {
      if (pid > 0) this.pid = pid;
    });
    const timer = opts.timeoutMs ? setTimeout(() => void killProcess(), opts.timeoutMs) : undefined;
    const done = new Promise<number>((resolve) => {
      child.on('error', () => resolve(126));
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + 9 : 1)));
    }).then(async (code) => {
      if (timer) clearTimeout(timer);
      this.running = false;
      this.exitCode = code;
      await rm(file, { force: true });
      await rm(pidFile, { force: true });
      return code;
    });
    // the output ends only once the exit code is known: clients inspect the exec right after the stream ends
    async function* output(): AsyncGenerator<OutputChunk> {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (open <= 0) break;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      await done;
    }
    const handle: ExecHandle = { output: output(), wait: () => done };
    if (withStdin && child.stdin) {
      if (tty) {
        // input typed before the exec'd process owns the terminal would be echoed by script's own pty
        const input = new PassThrough();
        const sink = child.stdin;
        sink.on('error', () => undefined);
        void started.then(() => input.pipe(sink));
        handle.stdin = input;
      } else {
        handle.stdin = child.stdin;
      }
    }
    return handle;
  }
}

/** The exec'd process's host pid, once the runtime wrote it (0 if it never does). */
async function readPidSoon(path: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const n = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(n) && n > 0) return n;
    await new Promise((r) => setTimeout(r, 20));
  }
  return 0;
}

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Collects an exec's whole output (health checks, tests). */
export async function collect(h: ExecHandle, limit = 64 * 1024): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  for await (const c of h.output) {
    if (c.stream === 'stdout' && stdout.length < limit) stdout += c.data.toString();
    if (c.stream === 'stderr' && stderr.length < limit) stderr += c.data.toString();
  }
  return { code: await h.wait(), stdout, stderr };
}
