/** Builds a container's OCI runtime config.json the way Docker does (namespaces, caps, masks, mounts, limits). */
import type { ContainerRecord } from './types.js';

export const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];

export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface SpecInputs {
  record: ContainerRecord;
  rootfs: string;
  /** undefined = host network (unless newNetns) */
  netnsPath: string | undefined;
  /** a new, empty network namespace made by the runtime (network `none`) */
  newNetns?: boolean;
  cgroupsPath: string;
  /** host files bind-mounted at /etc/hosts, /etc/resolv.conf, /etc/hostname */
  etcFiles: { hosts: string; resolvConf: string; hostname: string };
  /** whether the host supports memory.memsw (swap accounting) */
  swapAccounting: boolean;
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

function capsWithChanges(capAdd: readonly string[] | null | undefined, capDrop: readonly string[] | null | undefined): string[] {
  const norm = (c: string): string => (c.toUpperCase().startsWith('CAP_') ? c.toUpperCase() : `CAP_${c.toUpperCase()}`);
  const drop = new Set((capDrop ?? []).map(norm));
  const caps = drop.has('CAP_ALL') ? [] : DEFAULT_CAPS.filter((c) => !drop.has(c));
  for (const c of (capAdd ?? []).map(norm)) if (c !== 'CAP_ALL' && !caps.includes(c)) caps.push(c);
  return caps;
}

export function processCaps(r: ContainerRecord): string[] {
  return capsWithChanges(r.config.HostConfig?.CapAdd, r.config.HostConfig?.CapDrop);
}

function resources(r: ContainerRecord, swapAccounting: boolean): Record<string, unknown> {
  const hc = r.config.HostConfig ?? {};
  const out: Record<string, unknown> = { devices: [{ allow: false, access: 'rwm' }] };
  if (hc.Memory && hc.Memory > 0) {
    const mem: Record<string, number> = { limit: hc.Memory };
    if (swapAccounting) {
      const swap = hc.MemorySwap === undefined || hc.MemorySwap === 0 ? hc.Memory * 2 : hc.MemorySwap;
      mem.swap = swap;
    }
    out.memory = mem;
  }
  const cpu: Record<string, number> = {};
  if (hc.CpuShares && hc.CpuShares > 0) cpu.shares = hc.CpuShares;
  if (hc.NanoCpus && hc.NanoCpus > 0) {
    cpu.period = 100_000;
    cpu.quota = Math.max(1000, Math.round((hc.NanoCpus * 100_000) / 1e9));
  } else if (hc.CpuQuota && hc.CpuQuota > 0) {
    cpu.period = hc.CpuPeriod && hc.CpuPeriod > 0 ? hc.CpuPeriod : 100_000;
    cpu.quota = hc.CpuQuota;
  }
  if (Object.keys(cpu).length > 0) out.cpu = cpu;
  if (typeof hc.PidsLimit === 'number' && hc.PidsLimit > 0) out.pids = { limit: hc.PidsLimit };
  return out;
}

function userMounts(r: ContainerRecord): OciMount[] {
  return r.mounts.map((m) => {
    if (m.type === 'tmpfs') {
      return { destination: m.destination, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', ...(m.tmpfsOptions ?? [])] };
    }
    return { destination: m.destination, type: 'bind', source: m.hostPath ?? m.source, options: ['rbind', 'rprivate', m.readOnly ? 'ro' : 'rw'] };
  });
}

export function buildSpec(s: SpecInputs): Record<string, unknown> {
  const r = s.record;
  const caps = processCaps(r);
  const namespaces: Record<string, string>[] = [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }];
  if (s.netnsPath) namespaces.push({ type: 'network', path: s.netnsPath });
  else if (s.newNetns) namespaces.push({ type: 'network' });
  const ro = r.config.HostConfig?.ReadonlyRootfs === true;
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864'] },
    { destination: '/etc/resolv.conf', type: 'bind', source: s.etcFiles.resolvConf, options: ['rbind', 'rprivate'] },
    { destination: '/etc/hostname', type: 'bind', source: s.etcFiles.hostname, options: ['rbind', 'rprivate'] },
    { destination: '/etc/hosts', type: 'bind', source: s.etcFiles.hosts, options: ['rbind', 'rprivate'] },
    ...userMounts(r),
  ];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: r.config.Tty === true,
      user: { uid: r.user.uid, gid: r.user.gid, additionalGids: r.user.additionalGids },
      args: [r.path, ...r.args],
      env: r.env,
      cwd: r.workingDir,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: false,
    },
    root: { path: s.rootfs, readonly: ro },
    hostname: r.hostname,
    mounts,
    linux: {
      cgroupsPath: s.cgroupsPath,
      resources: resources(r, s.swapAccounting),
      namespaces,
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}

/** The process spec of an exec session (runtime exec --process). */
export function execProcessSpec(r: ContainerRecord, e: { cmd: string[]; env: string[]; user?: { uid: number; gid: number; additionalGids: number[] }; workingDir?: string; tty: boolean }): Record<string, unknown> {
  const caps = processCaps(r);
  const user = e.user ?? r.user;
  return {
    terminal: e.tty,
    user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
    args: e.cmd,
    env: mergeEnv(r.env, e.env),
    cwd: e.workingDir && e.workingDir !== '' ? e.workingDir : r.workingDir,
    capabilities: { bounding: caps, effective: caps, permitted: caps },
    noNewPrivileges: false,
  };
}

/** Merges KEY=VALUE lists: later entries override earlier keys, order of first appearance kept. */
export function mergeEnv(...lists: readonly (readonly string[] | null | undefined)[]): string[] {
  const m = new Map<string, string>();
  for (const list of lists) {
    for (const kv of list ?? []) {
      const i = kv.indexOf('=');
      const k = i < 0 ? kv : kv.slice(0, i);
      if (i < 0) continue; // "KEY" alone means "take it from the client env": nothing to take here
      m.set(k, kv);
    }
  }
  return [...m.values()];
}
