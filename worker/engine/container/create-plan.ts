/** Validates a Docker create body against the image and derives the container's process, env and hostname. */
import { badRequest } from './errors.js';
import { mergeEnv } from './oci-spec.js';
import { validateRestartPolicy } from './restart-policy.js';
import type { ContainerCreateBody, ImageLike, ImageRunConfig } from './types.js';

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const MIN_MEMORY = 6 * 1024 * 1024;

function strList(v: unknown): string[] | undefined {
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  return undefined;
}

/** The image's run config, whether the record holds the whole OCI config file or just its `config` object. */
export function imageRunConfig(img: ImageLike): ImageRunConfig {
  const c = img.config;
  if (typeof c !== 'object' || c === null) return {};
  const o = c as Record<string, unknown>;
  const inner = typeof o.config === 'object' && o.config !== null ? (o.config as Record<string, unknown>) : o;
  const out: ImageRunConfig = {};
  const env = strList(inner.Env);
  if (env) out.Env = env;
  const cmd = strList(inner.Cmd);
  if (cmd) out.Cmd = cmd;
  const ep = strList(inner.Entrypoint);
  if (ep) out.Entrypoint = ep;
  if (typeof inner.WorkingDir === 'string') out.WorkingDir = inner.WorkingDir;
  if (typeof inner.User === 'string') out.User = inner.User;
  if (typeof inner.StopSignal === 'string') out.StopSignal = inner.StopSignal;
  if (typeof inner.Volumes === 'object' && inner.Volumes !== null) out.Volumes = inner.Volumes as Record<string, object>;
  if (typeof inner.ExposedPorts === 'object' && inner.ExposedPorts !== null) out.ExposedPorts = inner.ExposedPorts as Record<string, object>;
  if (typeof inner.Healthcheck === 'object' && inner.Healthcheck !== null) out.Healthcheck = inner.Healthcheck as ImageRunConfig['Healthcheck'];
  if (typeof inner.Labels === 'object' && inner.Labels !== null) out.Labels = inner.Labels as Record<string, string>;
  return out;
}

const asList = (v: string[] | string | null | undefined): string[] | undefined => (v === undefined || v === null ? undefined : typeof v === 'string' ? [v] : v);

export interface ProcessPlan {
  path: string;
  args: string[];
  env: string[];
  workingDir: string;
  hostname: string;
}

/** Checks the fields that need no I/O; throws EngineError 400 with Docker's wording where it has one. */
export function validateBody(body: ContainerCreateBody): void {
  if (typeof body !== 'object' || body === null) throw badRequest('config cannot be empty in order to create a container');
  if (!body.Image || typeof body.Image !== 'string') throw badRequest('No image specified');
  const hc = body.HostConfig ?? {};
  for (const [k, v] of [['Memory', hc.Memory], ['NanoCpus', hc.NanoCpus], ['CpuShares', hc.CpuShares], ['CpuQuota', hc.CpuQuota], ['CpuPeriod', hc.CpuPeriod]] as const) {
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0)) throw badRequest(`invalid ${k}: ${String(v)}`);
  }
  if (hc.Memory && hc.Memory > 0 && hc.Memory < MIN_MEMORY) throw badRequest('Minimum memory limit allowed is 6MB');
  if (hc.MemorySwap && hc.MemorySwap > 0 && hc.Memory && hc.MemorySwap < hc.Memory) throw badRequest('Minimum memoryswap limit should be larger than memory limit, see usage');
  if (hc.NanoCpus && hc.CpuQuota) throw badRequest('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (hc.NanoCpus && hc.NanoCpus > 0 && hc.NanoCpus < 1e7) throw badRequest('Range of CPUs is from 0.01 to the number of CPUs available');
  if (hc.PidsLimit !== undefined && hc.PidsLimit !== null && (typeof hc.PidsLimit !== 'number' || !Number.isInteger(hc.PidsLimit))) throw badRequest(`invalid PidsLimit: ${String(hc.PidsLimit)}`);
  validateRestartPolicy(hc.RestartPolicy, hc.AutoRemove === true);
  if (body.Env && (!Array.isArray(body.Env) || !body.Env.every((e) => typeof e === 'string'))) throw badRequest('Env must be a list of strings');
  const hcData = body.Healthcheck;
  if (hcData) {
    for (const k of ['Interval', 'Timeout', 'StartPeriod'] as const) {
      const v = hcData[k];
      if (v !== undefined && v !== 0 && v < 1e6) throw badRequest(`Healthcheck ${k} in milliseconds must be at least 1ms`);
    }
    if (hcData.Retries !== undefined && hcData.Retries < 0) throw badRequest('Healthcheck Retries must not be negative');
  }
}

export function planProcess(id: string, body: ContainerCreateBody, img: ImageRunConfig): ProcessPlan {
  const reqEp = asList(body.Entrypoint);
  const reqCmd = asList(body.Cmd);
  let entrypoint: string[];
  let cmd: string[];
  if (reqEp !== undefined && !(reqEp.length === 1 && reqEp[0] === '' )) {
    entrypoint = reqEp;
    cmd = reqCmd ?? [];
  } else if (reqEp !== undefined) {
    entrypoint = [];
    cmd = reqCmd ?? [];
  } else {
    entrypoint = img.Entrypoint ?? [];
    cmd = reqCmd && reqCmd.length > 0 ? reqCmd : img.Cmd ?? [];
  }
  const all = [...entrypoint, ...cmd];
  if (all.length === 0 || all[0] === '') throw badRequest('No command specified');
  const hostname = body.Hostname && body.Hostname !== '' ? body.Hostname : id.slice(0, 12);
  let env = mergeEnv(img.Env, body.Env);
  if (!env.some((e) => e.startsWith('PATH='))) env = [DEFAULT_PATH, ...env];
  env = mergeEnv([`HOSTNAME=${hostname}`], env);
  const wd = body.WorkingDir && body.WorkingDir !== '' ? body.WorkingDir : img.WorkingDir && img.WorkingDir !== '' ? img.WorkingDir : '/';
  if (!wd.startsWith('/')) throw badRequest(`the working directory '${wd}' is invalid, it needs to be an absolute path`);
  return { path: all[0]!, args: all.slice(1), env, workingDir: wd, hostname };
}
