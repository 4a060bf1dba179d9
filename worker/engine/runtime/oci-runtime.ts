/** Thin wrapper around an OCI runtime binary (runc or crun) with a per-engine state root. */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive } from './conmon.js';
import { run, runOk, type RunResult } from './exec-file.js';
import { startThroughExecFifo } from './runc-fifo-start.js';

export type RuntimeName = 'crun' | 'runc';

export interface RuntimeState {
  status: 'creating' | 'created' | 'running' | 'stopped' | 'paused' | 'unknown';
  pid: number;
}

export class OciRuntime {
  constructor(
    readonly name: RuntimeName,
    readonly path: string,
    /** `--root` of the runtime: X/runtime */
    readonly root: string,
    /**
     * runc's own protocol checked by the probe on this host: containers start through their exec fifo
     * (runc-fifo-start.ts) and a stopped one is forgotten by removing its state dir (forgetStopped)
     */
    readonly runcProtocol = false,
  ) {}

  /** Global arguments placed before every subcommand. */
  globalArgs(): string[] {
    return ['--root', this.root];
  }

  /** Starts a created container; `initPid` (its `runc init`) lets the fifo path check it is still there. */
  async start(id: string, initPid?: number): Promise<void> {
    if (this.runcProtocol && this.name === 'runc' && initPid !== undefined && processAlive(initPid)) return startThroughExecFifo(this.root, id);
    await runOk(this.path, [...this.globalArgs(), 'start', id], { timeoutMs: 30_000 });
  }

  /** Sends a signal to the init process (all = every process of the container). */
  kill(id: string, signal: string, all = false): Promise<RunResult> {
    return run(this.path, [...this.globalArgs(), 'kill', ...(all ? ['--all'] : []), id, signal], { timeoutMs: 10_000 });
  }

  /**
   * Forgets a container whose processes are gone (its exit was recorded). For a stopped container runc
   * keeps nothing but its state dir — `runc delete` removes that, the cgroups (the engine removes those
   * itself) and runs poststop hooks (the engine sets none) — so with the protocol checked the dir goes
   * without a runc process; a container never started (exec fifo still there), crun, or an unchecked
   * runc get `delete --force`.
   */
  async forgetStopped(id: string): Promise<void> {
    const dir = join(this.root, id);
    if (this.runcProtocol && this.name === 'runc' && !existsSync(join(dir, 'exec.fifo'))) {
      await rm(dir, { recursive: true, force: true });
      return;
    }
    await this.delete(id, true);
  }

  /** Deletes the runtime's state (and the container's cgroup); a container unknown to the runtime is fine. */
  async delete(id: string, force: boolean): Promise<void> {
    const r = await run(this.path, [...this.globalArgs(), 'delete', ...(force ? ['--force'] : []), id], { timeoutMs: 15_000 });
    if (r.code !== 0 && !/does not exist|not exist|no such/i.test(r.stderr)) {
      throw new Error(`${this.name} delete ${id}: ${r.stderr.trim()}`);
    }
  }

  async state(id: string): Promise<RuntimeState | undefined> {
    const r = await run(this.path, [...this.globalArgs(), 'state', id], { timeoutMs: 10_000 });
    if (r.code !== 0) return undefined;
    try {
      const v: unknown = JSON.parse(r.stdout);
      if (typeof v !== 'object' || v === null) return undefined;
      const o = v as Record<string, unknown>;
      const status = typeof o.status === 'string' ? o.status : 'unknown';
      const known = ['creating', 'created', 'running', 'stopped', 'paused'];
      return { status: (known.includes(status) ? status : 'unknown') as RuntimeState['status'], pid: typeof o.pid === 'number' ? o.pid : 0 };
    } catch {
      return undefined;
    }
  }

  pause(id: string): Promise<string> {
    return runOk(this.path, [...this.globalArgs(), 'pause', id], { timeoutMs: 15_000 });
  }

  resume(id: string): Promise<string> {
    return runOk(this.path, [...this.globalArgs(), 'resume', id], { timeoutMs: 15_000 });
  }

  /** Arguments of `exec --process <file> <id>` (spawned by the caller with its own stdio). */
  execArgs(id: string, processFile: string, pidFile?: string): string[] {
    return [...this.globalArgs(), 'exec', '--process', processFile, ...(pidFile ? ['--pid-file', pidFile] : []), id];
  }
}
