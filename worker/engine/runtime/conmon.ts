/**
 * Starts a container under conmon (runtime.md §3): conmon daemonizes, runs `<runtime> create`, writes the
 * container's pid file, and later the exit code into `<exitDir>/<id>`; the caller then runs
 * `<runtime> start`. conmon outlives the daemon, so containers do too.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { OciRuntime } from './oci-runtime.js';

export const CONMON_PATH = '/usr/bin/conmon';

export class ConmonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConmonError';
  }
}

export interface ConmonLaunch {
  id: string;
  name: string;
  bundle: string;
  logPath: string;
  exitDir: string;
  socketDir: string;
  runtime: OciRuntime;
  stdin?: boolean;
  /** allocate a pseudo-terminal (conmon hands the runtime a console socket) */
  terminal?: boolean;
  /** close the container's stdin when the first attached client goes (docker run -i) */
  stdinOnce?: boolean;
  /** deadline for the container's pid file (default 20 s) */
  timeoutMs?: number;
}

export interface ConmonHandle {
  pid: number;
  conmonPid: number;
}

/** conmon names the attach socket dir after `-u`: a short key keeps `<socketDir>/<key>/attach` under 108 bytes. */
export function attachKey(id: string): string {
  return id.slice(0, 12);
}

export function attachSocketPath(socketDir: string, id: string): string {
  return join(socketDir, attachKey(id), 'attach');
}

/** Where the runtime writes its own errors for this container (its global `--log`). */
export function runtimeLog(bundle: string): string {
  return join(bundle, 'runtime.log');
}

export function pidFile(bundle: string): string {
  return join(bundle, 'pidfile');
}

export function conmonPidFile(bundle: string): string {
  return join(bundle, 'conmon.pid');
}

export async function readPid(path: string): Promise<number> {
  try {
    const n = Number((await readFile(path, 'utf8')).trim());
    return Number.isInteger(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

export function processAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Spawns conmon (which runs `runtime create`) and waits for the container's pid file. */
export async function launchConmon(l: ConmonLaunch): Promise<ConmonHandle> {
  await rm(pidFile(l.bundle), { force: true });
  await rm(conmonPidFile(l.bundle), { force: true });
  await rm(join(l.exitDir, l.id), { force: true });
  await rm(runtimeLog(l.bundle), { force: true });
  const args = [
    '--api-version', '1',
    '-c', l.id, '-u', attachKey(l.id), '-n', l.name,
    '-r', l.runtime.path,
    ...[...l.runtime.globalArgs(), '--log', runtimeLog(l.bundle)].flatMap((a) => ['--runtime-arg', a]),
    '-b', l.bundle,
    '-p', pidFile(l.bundle),
    '-P', conmonPidFile(l.bundle),
    '-l', `k8s-file:${l.logPath}`,
    '--exit-dir', l.exitDir,
    '--socket-dir-path', l.socketDir,
    '-0', l.bundle,
    '--log-level', 'info',
    ...(l.terminal ? ['-t'] : []),
    ...(l.stdin ? ['-i', ...(l.stdinOnce ? [] : ['--leave-stdin-open'])] : []),
  ];
  const outPath = join(l.bundle, 'conmon.out');
  const fd = openSync(outPath, 'w');
  let child;
  try {
    child = spawn(CONMON_PATH, args, { detached: true, stdio: ['ignore', fd, fd], cwd: l.bundle });
  } finally {
    closeSync(fd);
  }
  const firstExit = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => resolve(code));
    child.on('error', () => resolve(-1));
  });
  child.unref();
  const code = await firstExit;
  const deadline = Date.now() + (l.timeoutMs ?? 20_000);
  const failure = async (why: string): Promise<ConmonError> => {
    const out = ((await readFile(runtimeLog(l.bundle), 'utf8').catch(() => '')) + (await readFile(outPath, 'utf8').catch(() => ''))).trim();
    const lines = out.split('\n').filter((x) => /error|fail|invalid|no such|denied/i.test(x));
    return new ConmonError(`${why}${lines.length ? ': ' + lines.slice(-3).join(' | ') : out ? ': ' + out.slice(-400) : ''}`);
  };
  if (code !== 0) throw await failure(`conmon exited with ${code}`);
  for (;;) {
    const pid = await readPid(pidFile(l.bundle));
    if (pid > 0) return { pid, conmonPid: await readPid(conmonPidFile(l.bundle)) };
    const conmonPid = await readPid(conmonPidFile(l.bundle));
    const exited = await readFile(join(l.exitDir, l.id), 'utf8').catch(() => undefined);
    if (exited !== undefined || (conmonPid > 0 && !processAlive(conmonPid))) {
      throw await failure('the OCI runtime could not create the container');
    }
    if (Date.now() > deadline) throw await failure('timed out waiting for the container to be created');
    await sleep(2);
  }
}

/** The exit code conmon recorded, or undefined while the container runs. */
export async function readExitFile(exitDir: string, id: string): Promise<number | undefined> {
  try {
    const t = (await readFile(join(exitDir, id), 'utf8')).trim();
    if (t === '') return undefined;
    const n = Number(t);
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}
