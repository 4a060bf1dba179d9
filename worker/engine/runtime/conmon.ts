/**
 * Starts a container under conmon (runtime.md §3): conmon daemonizes, runs `<runtime> create`, says the
 * container's pid on its sync pipe, and later writes the exit code into `<exitDir>/<id>`; the caller
 * then runs `<runtime> start`. conmon outlives the daemon, so containers do too.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
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

/**
 * Spawns conmon, which runs `runtime create`, and waits for its word on the sync pipe (`_OCI_SYNCPIPE`,
 * as podman does): `{"data": <container pid>}` once the container is created, or `{"data": -1,
 * "message": …}` when the runtime failed. No polling of the pid file.
 */
export async function launchConmon(l: ConmonLaunch): Promise<ConmonHandle> {
  await Promise.all([pidFile(l.bundle), conmonPidFile(l.bundle), join(l.exitDir, l.id), runtimeLog(l.bundle)].map((f) => rm(f, { force: true })));
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
    child = spawn(CONMON_PATH, args, { detached: true, stdio: ['ignore', fd, fd, 'pipe'], cwd: l.bundle, env: { ...process.env, _OCI_SYNCPIPE: '3' } });
  } finally {
    closeSync(fd);
  }
  child.unref();
  const failure = async (why: string): Promise<ConmonError> => {
    const out = ((await readFile(runtimeLog(l.bundle), 'utf8').catch(() => '')) + (await readFile(outPath, 'utf8').catch(() => ''))).trim();
    const lines = out.split('\n').filter((x) => /error|fail|invalid|no such|denied/i.test(x));
    return new ConmonError(`${why}${lines.length ? ': ' + lines.slice(-3).join(' | ') : out ? ': ' + out.slice(-400) : ''}`);
  };
  const sync = child.stdio[3] as Readable | null;
  if (!sync) throw new ConmonError('conmon was started without its sync pipe');
  const word = await new Promise<{ data: number; message?: string } | string>((resolve) => {
    let buf = '';
    const done = (v: { data: number; message?: string } | string): void => {
      clearTimeout(timer);
      sync.removeAllListeners('data');
      sync.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done('timed out waiting for the container to be created'), l.timeoutMs ?? 20_000);
    sync.on('data', (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      try {
        const v = JSON.parse(buf.slice(0, nl)) as { data?: unknown; message?: unknown };
        done(typeof v.data === 'number' ? { data: v.data, ...(typeof v.message === 'string' ? { message: v.message } : {}) } : `conmon said ${buf.slice(0, nl)}`);
      } catch {
        done(`conmon said ${buf.slice(0, nl)}`);
      }
    });
    sync.on('error', () => undefined);
    sync.on('close', () => done('conmon exited before the container was created'));
    child.on('error', (e) => done(`conmon could not start: ${e.message}`));
  });
  if (typeof word === 'string') throw await failure(word);
  if (word.data <= 0) {
    const said = word.message?.trim();
    throw said ? new ConmonError(`the OCI runtime could not create the container: ${said}`) : await failure('the OCI runtime could not create the container');
  }
  return { pid: word.data, conmonPid: await readPid(conmonPidFile(l.bundle)) };
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
