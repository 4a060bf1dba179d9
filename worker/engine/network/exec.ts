/**
 * Running the kernel tools (ip, nft, sysctl) with a deadline, optionally inside a named "host" network
 * namespace through `nsenter --net=<path>` (never `ip netns exec`, which hides the cgroup mounts).
 */
import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  readonly argv: readonly string[];
  readonly result: CommandResult;
  constructor(argv: readonly string[], result: CommandResult) {
    super(`${argv.join(' ')} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'CommandError';
    this.argv = argv;
    this.result = result;
  }
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 15_000;

/** Runs argv; resolves with its exit code and output (a timeout kills it and reports code -1). */
export function runRaw(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let done = false;
    const finish = (r: CommandResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ code: -1, stdout, stderr: `${stderr}\ntimed out after ${opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS} ms` });
    }, opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => finish({ code: -1, stdout, stderr: `${stderr}${e.message}` }));
    child.on('close', (code) => finish({ code: code ?? -1, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs commands in one network namespace (the engine's "host" netns, or the current one). */
export class HostExec {
  /** Path of the host netns (e.g. /run/netns/h1), or undefined for the namespace this process is in. */
  readonly netnsPath: string | undefined;
  constructor(netnsPath: string | undefined) {
    this.netnsPath = netnsPath;
  }

  argv(cmd: readonly string[]): string[] {
    return this.netnsPath ? ['nsenter', `--net=${this.netnsPath}`, ...cmd] : [...cmd];
  }

  raw(cmd: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    return runRaw(this.argv(cmd), opts);
  }

  /** Runs and throws CommandError on a non-zero exit; returns stdout. */
  async run(cmd: readonly string[], opts: RunOptions = {}): Promise<string> {
    const argv = this.argv(cmd);
    const r = await runRaw(argv, opts);
    if (r.code !== 0) throw new CommandError(argv, r);
    return r.stdout;
  }

  /** `ip -batch -` with one command per line; `-force` keeps going past errors when `force` is set. */
  async ipBatch(lines: readonly string[], opts: { netns?: string; force?: boolean } = {}): Promise<CommandResult> {
    const cmd = ['ip'];
    if (opts.netns) cmd.push('-n', opts.netns);
    if (opts.force) cmd.push('-force');
    cmd.push('-batch', '-');
    return this.raw(cmd, { input: lines.join('\n') + '\n' });
  }
}
