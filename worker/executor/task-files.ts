/**
 * A task's secrets and configs as files, never on disk in clear: per task one tmpfs mounted on the host
 * at <exec-root>/swarm-files/<taskID> (mode 0700, root), the files written into it with the reference's
 * uid, gid and mode, and each bind-mounted read-only into the container at its target — secrets under
 * /run/secrets/<name> unless the target is absolute, configs at their target (/<name> by default, as
 * Docker). Unmounted when the task's container is removed.
 */
import { mkdir, readdir, rmdir, writeFile, chown, chmod } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { Config, ConfigReference, Secret, SecretReference, Task } from '../../manager/store/index.js';
import type { MountSpec } from '../engine/container/types.js';
import { run } from '../engine/runtime/exec-file.js';
import { ExecutorError } from './executor.js';

/** Where the agent keeps the secrets and configs the dispatcher sent (memory only). */
export interface TaskDependencies {
  secret(id: string): Secret | undefined;
  config(id: string): Config | undefined;
}

export interface PlannedFile {
  /** the file's name inside the task's tmpfs */
  name: string;
  /** where it appears in the container */
  target: string;
  data: Buffer;
  uid: number;
  gid: number;
  mode: number;
}

function ids(ref: SecretReference | ConfigReference): { uid: number; gid: number; mode: number } {
  const n = (v: string | undefined, d: number): number => (v !== undefined && /^\d+$/.test(v) ? Number(v) : d);
  return { uid: n(ref.File?.UID, 0), gid: n(ref.File?.GID, 0), mode: ref.File?.Mode ?? 0o444 };
}

/** Docker's targets: a secret's relative name goes under /run/secrets, a config's under /. */
export function fileTarget(kind: 'secret' | 'config', name: string): string {
  if (posix.isAbsolute(name)) return posix.normalize(name);
  return kind === 'secret' ? posix.join('/run/secrets', name) : posix.join('/', name);
}

/** The files of a task (pure): every referenced secret and config, or an error naming what is missing. */
export function planTaskFiles(task: Task, deps: TaskDependencies): PlannedFile[] {
  const out: PlannedFile[] = [];
  const c = task.Spec.ContainerSpec;
  let i = 0;
  for (const ref of c.Secrets ?? []) {
    if (!ref.File) continue; // runtime-only references are not files
    const s = deps.secret(ref.SecretID);
    if (!s) throw new ExecutorError(`secret ${ref.SecretName} (${ref.SecretID}) is not available on this node`);
    if (s.Spec.Data === undefined) throw new ExecutorError(`secret ${ref.SecretName} reached this node without its data`);
    out.push({ name: `s${i++}`, target: fileTarget('secret', ref.File.Name || ref.SecretName), data: Buffer.from(s.Spec.Data, 'base64'), ...ids(ref) });
  }
  for (const ref of c.Configs ?? []) {
    if (!ref.File) continue;
    const cf = deps.config(ref.ConfigID);
    if (!cf) throw new ExecutorError(`config ${ref.ConfigName} (${ref.ConfigID}) is not available on this node`);
    out.push({ name: `c${i++}`, target: fileTarget('config', ref.File.Name || ref.ConfigName), data: Buffer.from(cf.Spec.Data, 'base64'), ...ids(ref) });
  }
  const targets = new Set<string>();
  for (const f of out) {
    if (targets.has(f.target)) throw new ExecutorError(`two secrets or configs of the task have the target ${f.target}`);
    targets.add(f.target);
  }
  return out;
}

function isMountPoint(dir: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === dir);
}

export class TaskFiles {
  constructor(private readonly root: string) {}

  dirOf(taskId: string): string {
    return join(this.root, taskId);
  }

  /** Mounts the task's tmpfs, writes its files, and returns the bind mounts for the container. */
  async materialize(taskId: string, files: readonly PlannedFile[]): Promise<MountSpec[]> {
    if (files.length === 0) return [];
    const dir = this.dirOf(taskId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (!isMountPoint(dir)) {
      const size = Math.max(1 << 20, files.reduce((n, f) => n + f.data.length + 4096, 0) * 2);
      const r = await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700,nosuid,nodev,noexec`, 'tmpfs', dir], { timeoutMs: 10_000 });
      if (r.code !== 0) throw new ExecutorError(`cannot mount the tmpfs for the task's secrets and configs: ${r.stderr.trim()}`);
    }
    try {
      for (const f of files) {
        const p = join(dir, f.name);
        await writeFile(p, f.data, { mode: 0o600 });
        await chown(p, f.uid, f.gid);
        await chmod(p, f.mode & 0o7777);
      }
    } catch (e) {
      await this.release(taskId);
      throw new ExecutorError(`cannot write the task's secrets and configs: ${(e as Error).message}`, true, { cause: e });
    }
    return files.map((f) => ({ Type: 'bind', Source: join(dir, f.name), Target: f.target, ReadOnly: true }));
  }

  /** Unmounts and removes the task's directory (idempotent). */
  async release(taskId: string): Promise<void> {
    const dir = this.dirOf(taskId);
    if (isMountPoint(dir)) {
      const r = await run('umount', [dir], { timeoutMs: 10_000 });
      if (r.code !== 0) await run('umount', ['-l', dir], { timeoutMs: 10_000 });
    }
    await rmdir(dir).catch(() => undefined);
  }

  /** Task IDs that have a directory here (for pruning after a restart). */
  async tasks(): Promise<string[]> {
    try {
      return await readdir(this.root);
    } catch {
      return [];
    }
  }
}
