/**
 * One shoald per lab host: started detached under `nsenter --net=<host netns>` (so it outlives the
 * command that started it and sees the host's cgroup mounts), with the host's own data root, exec root,
 * socket and kernel-object prefix; its log and pid file next to its data. Stopping is SIGTERM, then
 * SIGKILL after a grace period.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabHost } from './hosts.js';

/** dist/cli/shoald.js, found from this compiled file (dist/deploy/cluster/engines.js). */
export function shoaldPath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'cli', 'shoald.js');
}

const pidFile = (h: LabHost): string => join(dirname(h.dataRoot), 'shoald.pid');
export const logFile = (h: LabHost): string => join(dirname(h.dataRoot), 'shoald.log');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function enginePid(h: LabHost): number | undefined {
  if (!existsSync(pidFile(h))) return undefined;
  const pid = Number(readFileSync(pidFile(h), 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
}

/** GET /_ping over the host's socket; true on a 200 within the deadline. */
export function ping(socket: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export interface EngineStartOptions {
  runtime?: 'crun' | 'runc';
  extraArgs?: string[];
  /** how long to wait for /_ping (default 30 s) */
  readyTimeoutMs?: number;
  /** the daemon to run (default dist/cli/shoald.js next to this file; tests pass a private copy) */
  shoald?: string;
}

/** Starts the host's shoald unless one answers already; resolves when it answers /_ping. */
export async function startEngine(h: LabHost, o: EngineStartOptions = {}): Promise<number> {
  const running = enginePid(h);
  if (running !== undefined && (await ping(h.socket))) return running;
  if (running !== undefined) await stopEngine(h);
  const args = [
    `--net=${h.netnsPath}`, process.execPath, o.shoald ?? shoaldPath(),
    '--data-root', h.dataRoot, '--exec-root', h.execRoot, '--host', `unix://${h.socket}`, '--prefix', h.prefix,
    ...(o.runtime ? ['--runtime', o.runtime] : []), ...(o.extraArgs ?? []),
  ];
  const log = openSync(logFile(h), 'a');
  const child = spawn('nsenter', args, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start shoald for ${h.name}`);
  writeFileSync(pidFile(h), `${pid}\n`);
  const deadline = Date.now() + (o.readyTimeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (await ping(h.socket)) return pid;
    if (!alive(pid)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const tail = existsSync(logFile(h)) ? readFileSync(logFile(h), 'utf8').split('\n').slice(-15).join('\n') : '';
  await stopEngine(h);
  throw new Error(`shoald on ${h.name} did not answer on ${h.socket}; the end of ${logFile(h)}:\n${tail}`);
}

/** SIGTERM, then SIGKILL after `graceMs`; containers keep running (conmon holds them) unless removed first. */
export async function stopEngine(h: LabHost, graceMs = 10_000): Promise<void> {
  const pid = enginePid(h);
  if (pid !== undefined) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    while (alive(pid)) await new Promise((r) => setTimeout(r, 20));
  }
  rmSync(pidFile(h), { force: true });
}

/**
 * `shoald --cleanup` for the host's engine (its shoald stopped), in its network namespace: removes every
 * container, network, namespace and rule the engine made. Resolves with the problem, if any.
 */
export function cleanupEngine(h: LabHost, o: { shoald?: string; timeoutMs?: number } = {}): Promise<string | undefined> {
  const args = [`--net=${h.netnsPath}`, process.execPath, o.shoald ?? shoaldPath(), '--data-root', h.dataRoot, '--exec-root', h.execRoot,
    '--host', `unix://${h.socket}`, '--prefix', h.prefix, '--cleanup', '--log-level', 'warn'];
  return new Promise((resolve) => {
    const child = spawn('nsenter', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve(`${h.name}: engine cleanup could not run: ${e.message}`);
    });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      resolve(code === 0 ? undefined : `${h.name}: engine cleanup exited ${code ?? sig}: ${err.trim().slice(-300)}`);
    });
  });
}
