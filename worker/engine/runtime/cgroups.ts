/** cgroup v1 helpers: the hierarchies, per-container removal (and the engine parent when empty), stats reads. */
import { readdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

export const CGROUP_ROOT = '/sys/fs/cgroup';

async function cgroupMounts(withV2: boolean): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const out: string[] = [];
  for (const line of info.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    if (!right.startsWith('cgroup ') && !(withV2 && right.startsWith('cgroup2 '))) continue;
    const mp = left.split(' ')[4];
    if (mp && mp.startsWith(CGROUP_ROOT + '/')) out.push(mp);
  }
  return out;
}

/** The v1 hierarchy mount dirs under /sys/fs/cgroup (cpu, memory, pids, …), without the cgroup2 `unified`. */
export function v1Hierarchies(): Promise<string[]> {
  return cgroupMounts(false);
}

/**
 * Every hierarchy a runtime makes the container's cgroup in: the v1 ones plus, on a hybrid layout, the
 * cgroup2 mount under /sys/fs/cgroup (`unified`), where runc also creates `<parent>/<id>`.
 */
export function allHierarchies(): Promise<string[]> {
  return cgroupMounts(true);
}

async function rmdirTree(path: string): Promise<void> {
  let entries: string[];
  try {
    entries = (await readdir(path, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return;
  }
  for (const e of entries) await rmdirTree(join(path, e));
  for (let i = 0; i < 20; i++) {
    try {
      await rmdir(path);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * Removes `<parent>/<name>` in every hierarchy (v1 and the hybrid cgroup2 one); with `andParent`, then
 * `<parent>` where it is left empty. Only when nothing can be starting under the parent: a runtime
 * creating a container there reads the parent's files (cpuset.mems), and a parent removed under it
 * fails that create with ENODEV — so containers leave the parent, and the engine removes it on destroy.
 */
export async function removeCgroup(parent: string, name: string, o: { andParent?: boolean } = {}): Promise<void> {
  for (const h of await allHierarchies()) {
    await rmdirTree(join(h, parent, name));
    if (!o.andParent) continue;
    try {
      await rmdir(join(h, parent));
    } catch {
      // not empty (other containers) or absent
    }
  }
}

/** Whether any hierarchy still holds `<parent>/<name>` (for tests and leak checks). */
export async function cgroupExists(parent: string, name: string): Promise<boolean> {
  for (const h of await allHierarchies()) {
    try {
      await readdir(join(h, parent, name));
      return true;
    } catch {
      // absent
    }
  }
  return false;
}

/** Reads one cgroup file as text; undefined when absent. */
export async function readCgroupFile(controller: string, path: string, file: string): Promise<string | undefined> {
  try {
    return await readFile(join(CGROUP_ROOT, controller, path, file), 'utf8');
  } catch {
    return undefined;
  }
}

export async function readCgroupNumber(controller: string, path: string, file: string): Promise<number | undefined> {
  const t = await readCgroupFile(controller, path, file);
  if (t === undefined) return undefined;
  const n = Number(t.trim());
  return Number.isFinite(n) ? n : undefined;
}

/** Parses `key value` lines (memory.stat, memory.oom_control, cpu.stat). */
export function parseKeyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && Number.isFinite(Number(v))) out[k] = Number(v);
  }
  return out;
}
