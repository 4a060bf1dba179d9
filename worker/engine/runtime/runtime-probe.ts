/**
 * Chooses the OCI runtime: crun when a trivial container actually runs with it on this host (on a hybrid
 * cgroup layout with a controller in cgroup2 it refuses), else runc. A forced choice that cannot work is
 * a clear error.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { removeCgroup } from './cgroups.js';
import { startThroughExecFifo } from './runc-fifo-start.js';
import { run } from './exec-file.js';
import { OciRuntime, type RuntimeName } from './oci-runtime.js';

export class RuntimeUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeUnavailableError';
  }
}

const CANDIDATES: Record<RuntimeName, string[]> = {
  crun: ['/usr/bin/crun', '/usr/local/bin/crun'],
  runc: ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/bin/runc', '/usr/local/sbin/runc'],
};

async function findBinary(name: RuntimeName): Promise<string | undefined> {
  for (const p of CANDIDATES[name]) {
    const r = await run(p, ['--version'], { timeoutMs: 5_000 });
    if (r.code === 0) return p;
  }
  return undefined;
}

/** A throwaway bundle running `busybox true` (own namespaces, a cgroup under the engine's parent). */
async function probeBundle(id: string, cgroupParent: string, scratch: string): Promise<string> {
  const bundle = join(scratch, id);
  const rootfs = join(bundle, 'rootfs');
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  for (const d of ['proc', 'dev', 'sys', 'tmp']) await mkdir(join(rootfs, d), { recursive: true });
  await copyFile('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  const spec = {
    ociVersion: '1.0.2',
    process: { terminal: false, user: { uid: 0, gid: 0 }, args: ['/bin/busybox', 'true'], env: ['PATH=/bin'], cwd: '/' },
    root: { path: 'rootfs', readonly: true },
    hostname: 'probe',
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    linux: {
      cgroupsPath: `${cgroupParent}/${id}`,
      resources: { pids: { limit: 16 } },
      namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }, { type: 'network' }],
    },
  };
  await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
  return bundle;
}

/** Runs `true` in a throwaway bundle; undefined when it worked, else the runtime's complaint. */
async function tryRun(name: RuntimeName, path: string, root: string, cgroupParent: string, scratch: string): Promise<string | undefined> {
  const id = `probe-${name}-${randomBytes(4).toString('hex')}`;
  const bundle = await probeBundle(id, cgroupParent, scratch);
  try {
    const r = await run(path, ['--root', root, 'run', '--bundle', bundle, id], { timeoutMs: 20_000 });
    if (r.code === 0) return undefined;
    return (r.stderr || r.stdout).trim() || `exit ${r.code}`;
  } finally {
    await run(path, ['--root', root, 'delete', '--force', id], { timeoutMs: 10_000 });
    await rm(bundle, { recursive: true, force: true });
    await removeCgroup(cgroupParent, id, { andParent: true }).catch(() => undefined); // at start-up: nothing else runs under it yet
  }
}

/** Whether runc's exec-fifo start (runc-fifo-start.ts) works here: create, start through the fifo, see it run. */
async function fifoStartWorks(path: string, root: string, cgroupParent: string, scratch: string): Promise<boolean> {
  const id = `probe-fifo-${randomBytes(4).toString('hex')}`;
  const bundle = await probeBundle(id, cgroupParent, scratch);
  try {
    // stdio ignored: runc init keeps what it inherits open until the process runs
    const created = await new Promise<number | null>((resolve) => {
      const p = spawn(path, ['--root', root, 'create', '--bundle', bundle, '--pid-file', join(bundle, 'pid'), id], { stdio: 'ignore' });
      const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
      p.on('error', () => resolve(-1));
      p.on('exit', (code) => {
        clearTimeout(t);
        resolve(code);
      });
    });
    if (created !== 0) return false;
    await startThroughExecFifo(root, id, 5_000);
    for (let i = 0; i < 200; i++) {
      const st = await run(path, ['--root', root, 'state', id], { timeoutMs: 10_000 });
      const status = st.code === 0 ? (JSON.parse(st.stdout) as { status?: string }).status : undefined;
      if (status === 'stopped') return true; // `true` ran and exited: the start released it
      if (status !== 'running') return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return false;
  } catch {
    return false;
  } finally {
    await run(path, ['--root', root, 'delete', '--force', id], { timeoutMs: 10_000 });
    await rm(bundle, { recursive: true, force: true });
    await removeCgroup(cgroupParent, id, { andParent: true }).catch(() => undefined);
  }
}

export interface ProbeOptions {
  /** runtime state root (X/runtime) */
  root: string;
  /** where the probe's throwaway bundle goes */
  scratchDir: string;
  /** cgroup parent, e.g. /shoal-sh1a */
  cgroupParent: string;
  force?: RuntimeName;
  /** false: always `runc start` / `runc delete` (default: runc's own protocol when the probe sees it hold) */
  runcProtocol?: boolean;
}

/** Returns a working runtime, or throws RuntimeUnavailableError naming why each candidate failed. */
export async function probeRuntime(opts: ProbeOptions): Promise<OciRuntime> {
  await mkdir(opts.root, { recursive: true });
  await mkdir(opts.scratchDir, { recursive: true });
  const order: RuntimeName[] = opts.force ? [opts.force] : ['crun', 'runc'];
  const reasons: string[] = [];
  for (const name of order) {
    const path = await findBinary(name);
    if (!path) {
      reasons.push(`${name}: not installed`);
      continue;
    }
    const failure = await tryRun(name, path, opts.root, opts.cgroupParent, opts.scratchDir);
    if (failure === undefined) return new OciRuntime(name, path, opts.root, name === 'runc' && opts.runcProtocol !== false && (await fifoStartWorks(path, opts.root, opts.cgroupParent, opts.scratchDir)));
    reasons.push(`${name}: ${failure}`);
  }
  throw new RuntimeUnavailableError(`no usable OCI runtime: ${reasons.join('; ')}`);
}
