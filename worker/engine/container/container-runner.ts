/**
 * The kernel side of a container's life: start (overlay, network, /etc files, config.json, conmon, runtime
 * start), what to read and undo after an exit (OOM, runtime state, cgroup, network), and full teardown.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { portBindingsFromDocker } from '../network/index.js';
import { launchConmon } from '../runtime/conmon.js';
import { parseKeyValues, readCgroupFile, readCgroupNumber, removeCgroup } from '../runtime/cgroups.js';
import type { OciRuntime } from '../runtime/oci-runtime.js';
import { mountSnapshot, removeSnapshot, snapshotPaths } from '../snapshot/overlay-snapshot.js';
import { asEngineError, badRequest, EngineError } from './errors.js';
import { buildSpec } from './oci-spec.js';
import type { ContainerNetworking, ContainerRecord } from './types.js';

export interface RunnerContext {
  runtime: OciRuntime;
  networks: ContainerNetworking;
  prefix: string;
  exitDir: string;
  socketDir: string;
  swapAccounting: boolean;
  dir(id: string): string;
}

export const cgroupParent = (prefix: string): string => `/shoal-${prefix}`;
export const cgroupPath = (prefix: string, id: string): string => `${cgroupParent(prefix)}/${id}`;
export const logPathOf = (dir: string): string => join(dir, 'container.log');

function attachRequest(r: ContainerRecord): Parameters<ContainerNetworking['attach']>[1] {
  const hc = r.config.HostConfig ?? {};
  const mode = hc.NetworkMode && hc.NetworkMode !== '' ? hc.NetworkMode : 'default';
  // the entry of the network mode's own network configures the first endpoint (its address and aliases):
  // the network manager merges entries of one network
  const extra = Object.entries(r.config.NetworkingConfig?.EndpointsConfig ?? {})
    .filter(([n, ep]) => n !== mode || ep?.IPAMConfig?.IPv4Address || (ep?.Aliases?.length ?? 0) > 0)
    .map(([n, ep]) => ({ network: n === 'default' ? 'bridge' : n, aliases: ep?.Aliases ?? [], ...(ep?.IPAMConfig?.IPv4Address ? { ipv4Address: ep.IPAMConfig.IPv4Address } : {}) }));
  return { networkMode: mode, extraNetworks: extra, name: r.name, hostname: r.hostname, portBindings: portBindingsFromDocker(hc.PortBindings ?? {}) };
}

/** Starts the container; on failure everything this call set up is undone and the error is an EngineError. */
export async function startContainer(ctx: RunnerContext, r: ContainerRecord): Promise<{ pid: number; conmonPid: number }> {
  const dir = ctx.dir(r.id);
  let attached = false;
  try {
    await mountSnapshot(dir);
    // the netns and addresses first; the links, DNS and port rules (finish) go in while the runtime creates
    // the container in that netns — it cannot run before `runtime start`, which waits for both
    const begun = ctx.networks.beginAttach ? await ctx.networks.beginAttach(r.id, attachRequest(r)) : { attachment: await ctx.networks.attach(r.id, attachRequest(r)), finish: async () => undefined };
    const att = begun.attachment;
    attached = true;
    const etc = { hosts: join(dir, 'hosts'), resolvConf: join(dir, 'resolv.conf'), hostname: join(dir, 'hostname') };
    await writeFile(etc.hosts, att.hostsFile);
    await writeFile(etc.resolvConf, att.resolvConf);
    await writeFile(etc.hostname, `${r.hostname}\n`);
    const rootfs = snapshotPaths(dir).rootfs;
    await mkdir(join(rootfs, r.workingDir), { recursive: true });
    for (const m of r.mounts) {
      if (m.type === 'bind') {
        await readFile(m.source).catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') throw badRequest(`invalid mount config for type "bind": bind source path does not exist: ${m.source}`);
        });
      }
    }
    const spec = buildSpec({ record: r, rootfs, netnsPath: att.netnsPath, ...(att.newNetns ? { newNetns: true } : {}), cgroupsPath: cgroupPath(ctx.prefix, r.id), etcFiles: etc, swapAccounting: ctx.swapAccounting });
    await writeFile(join(dir, 'config.json'), JSON.stringify(spec, null, 1));
    const [created, plugged] = await Promise.allSettled([
      launchConmon({ id: r.id, name: r.name, bundle: dir, logPath: logPathOf(dir), exitDir: ctx.exitDir, socketDir: ctx.socketDir, runtime: ctx.runtime, stdin: r.config.OpenStdin === true, terminal: r.config.Tty === true, stdinOnce: r.config.StdinOnce === true }),
      begun.finish(),
    ]);
    if (created.status === 'rejected') throw created.reason;
    if (plugged.status === 'rejected') throw plugged.reason;
    await ctx.runtime.start(r.id, created.value.pid);
    return created.value;
  } catch (e) {
    await ctx.runtime.delete(r.id, true).catch(() => undefined);
    await removeCgroup(cgroupParent(ctx.prefix), r.id).catch(() => undefined);
    if (attached) await ctx.networks.detach(r.id).catch(() => undefined);
    const err = asEngineError(e);
    if (err.status === 500 && /executable file not found|no such file or directory|permission denied|not a directory/i.test(err.message)) {
      throw new EngineError(400, `failed to create task for container: ${err.message}`, { cause: e });
    }
    throw err;
  }
}

/** Whether the container was killed by the OOM killer: conmon's `oom` file or the cgroup's counters. */
export async function readOomKilled(ctx: RunnerContext, id: string, exitCode: number): Promise<boolean> {
  const oomFile = await readFile(join(ctx.dir(id), 'oom'), 'utf8').catch(() => undefined);
  if (oomFile !== undefined) return true;
  const cg = cgroupPath(ctx.prefix, id);
  const ctl = parseKeyValues(await readCgroupFile('memory', cg, 'memory.oom_control'));
  if ((ctl['oom_kill'] ?? 0) > 0) return true;
  // kernels without the oom_kill counter: a SIGKILL while the limit was hit
  if (exitCode === 137 && ctl['oom_kill'] === undefined) return ((await readCgroupNumber('memory', cg, 'memory.failcnt')) ?? 0) > 0;
  return false;
}

/**
 * After an exit: runtime state and cgroup, side by side with the network; the rootfs stays (for restart
 * and cp). `stopped`: the exit was recorded, so the runtime may just forget the container.
 */
export async function releaseAfterExit(ctx: RunnerContext, id: string, stopped = true): Promise<void> {
  await Promise.all([
    (async () => {
      await (stopped ? ctx.runtime.forgetStopped(id) : ctx.runtime.delete(id, true)).catch(() => undefined);
      await removeCgroup(cgroupParent(ctx.prefix), id).catch(() => undefined);
    })(),
    ctx.networks.detach(id).catch(() => undefined),
  ]);
}

/**
 * What remove has left to undo: `released` — releaseAfterExit already ran since the exit, only the
 * snapshot goes; `exited` — the container's processes are gone (so is its mount namespace), the release
 * and the unmount run side by side; otherwise the runtime first (its delete kills what is left), then the rootfs.
 */
export type TeardownState = 'released' | 'exited' | 'unknown';

/** Full teardown for remove: the release (unless done) and the snapshot. */
export async function teardown(ctx: RunnerContext, id: string, state: TeardownState = 'unknown'): Promise<void> {
  if (state === 'released') return removeSnapshot(ctx.dir(id));
  if (state === 'exited') {
    await Promise.all([releaseAfterExit(ctx, id), removeSnapshot(ctx.dir(id))]);
    return;
  }
  await releaseAfterExit(ctx, id, false);
  await removeSnapshot(ctx.dir(id));
}
