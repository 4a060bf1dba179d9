/** Run a host program with a deadline; resolve with its output, reject with a RuntimeCommandError. */
import { spawn } from 'node:child_process';

export class RuntimeCommandError extends Error {
  readonly code: number | null;
  readonly stderr: string;
  constructor(cmd: string, code: number | null, stderr: string) {
    super(`${cmd} failed (exit ${code ?? 'signal'}): ${stderr.trim() || 'no output'}`);
    this.name = 'RuntimeCommandError';
    this.code = code;
    this.stderr = stderr;
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `file args` (no shell), killing it after timeoutMs. Never rejects: the caller checks `code`. */
export function run(file: string, args: string[], opts: { timeoutMs?: number; cwd?: string; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + e.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Like run() but rejects with RuntimeCommandError on a non-zero exit. */
export async function runOk(file: string, args: string[], opts: { timeoutMs?: number; cwd?: string; input?: string } = {}): Promise<string> {
  const r = await run(file, args, opts);
  if (r.code !== 0) throw new RuntimeCommandError(`${file} ${args.slice(0, 4).join(' ')}`, r.code, r.stderr || r.stdout);
  return r.stdout;
}
