/** One sample of a container's cgroup v1 numbers in Docker's GET /containers/{id}/stats shape. */
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { parseKeyValues, readCgroupFile, readCgroupNumber } from '../runtime/cgroups.js';

export interface DockerStats {
  read: string;
  preread: string;
  id: string;
  name: string;
  num_procs: number;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: Record<string, null>;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: { usage?: number; max_usage?: number; limit?: number; failcnt?: number; stats?: Record<string, number> };
  networks?: Record<string, unknown>;
}

interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[]; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

const USER_HZ = 100;

/** Host CPU time in nanoseconds, from /proc/stat (what Docker reports as system_cpu_usage). */
async function systemCpuNs(): Promise<number> {
  const t = await readFile('/proc/stat', 'utf8');
  const line = t.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return 0;
  const ticks = line.trim().split(/\s+/).slice(1, 8).map(Number).reduce((a, b) => a + b, 0);
  return (ticks * 1e9) / USER_HZ;
}

export async function sampleCpu(cg: string): Promise<CpuStats> {
  const total = (await readCgroupNumber('cpuacct', cg, 'cpuacct.usage')) ?? 0;
  const percpu = (await readCgroupFile('cpuacct', cg, 'cpuacct.usage_percpu'))?.trim().split(/\s+/).map(Number).filter(Number.isFinite);
  const st = parseKeyValues(await readCgroupFile('cpuacct', cg, 'cpuacct.stat'));
  const thr = parseKeyValues(await readCgroupFile('cpu', cg, 'cpu.stat'));
  return {
    cpu_usage: {
      total_usage: total,
      ...(percpu ? { percpu_usage: percpu } : {}),
      usage_in_kernelmode: ((st['system'] ?? 0) * 1e9) / USER_HZ,
      usage_in_usermode: ((st['user'] ?? 0) * 1e9) / USER_HZ,
    },
    system_cpu_usage: await systemCpuNs(),
    online_cpus: cpus().length,
    throttling_data: { periods: thr['nr_periods'] ?? 0, throttled_periods: thr['nr_throttled'] ?? 0, throttled_time: thr['throttled_time'] ?? 0 },
  };
}

export async function sampleStats(id: string, name: string, cg: string, pre: { cpu: CpuStats; read: string } | undefined): Promise<DockerStats> {
  const cpu = await sampleCpu(cg);
  const pidsMax = (await readCgroupFile('pids', cg, 'pids.max'))?.trim();
  return {
    read: new Date().toISOString(),
    preread: pre?.read ?? '0001-01-01T00:00:00Z',
    id,
    name: `/${name}`,
    num_procs: 0,
    pids_stats: {
      current: (await readCgroupNumber('pids', cg, 'pids.current')) ?? 0,
      ...(pidsMax && pidsMax !== 'max' ? { limit: Number(pidsMax) } : {}),
    },
    blkio_stats: { io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null },
    cpu_stats: cpu,
    precpu_stats: pre?.cpu ?? { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
    memory_stats: {
      usage: (await readCgroupNumber('memory', cg, 'memory.usage_in_bytes')) ?? 0,
      max_usage: (await readCgroupNumber('memory', cg, 'memory.max_usage_in_bytes')) ?? 0,
      limit: (await readCgroupNumber('memory', cg, 'memory.limit_in_bytes')) ?? 0,
      failcnt: (await readCgroupNumber('memory', cg, 'memory.failcnt')) ?? 0,
      stats: parseKeyValues(await readCgroupFile('memory', cg, 'memory.stat')),
    },
  };
}
