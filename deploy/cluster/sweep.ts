/**
 * The last line of `down`: whatever a lab host's engine left behind when it could not clean up itself
 * (it crashed, or was killed) — processes in its cgroups, its cgroup directories, mounts under its
 * directories, and the container network namespaces named with its prefix — is removed here.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runRaw } from '../../worker/engine/network/exec.js';
import { removeCgroup, v1Hierarchies } from '../../worker/engine/runtime/cgroups.js';
import type { LabHost } from './hosts.js';

function pidsUnder(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const out: number[] = [];
  const procs = join(dir, 'cgroup.procs');
  if (existsSync(procs)) out.push(...readFileSync(procs, 'utf8').split('\n').filter(Boolean).map(Number));
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) out.push(...pidsUnder(join(dir, e.name)));
  return out;
}

function kill(pids: Iterable<number>): void {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** Mount points at or below `root`, deepest first. */
function mountsUnder(root: string): string[] {
  const info = readFileSync('/proc/self/mountinfo', 'utf8');
  const mps = info
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((mp): mp is string => mp !== undefined && (mp === root || mp.startsWith(`${root}/`)));
  return [...new Set(mps)].sort((a, b) => b.length - a.length);
}

export async function sweepHost(h: LabHost): Promise<void> {
  const parent = `shoal-${h.prefix}`;
  const hierarchies = await v1Hierarchies();
  const pids = new Set<number>();
  for (const hier of hierarchies) for (const p of pidsUnder(join(hier, parent))) pids.add(p);
  kill(pids);
  if (existsSync('/run/netns')) {
    for (const ns of readdirSync('/run/netns').filter((n) => n.startsWith(`${h.prefix}-`))) {
      const r = await runRaw(['ip', 'netns', 'pids', ns]);
      kill(r.stdout.split(/\s+/).filter(Boolean).map(Number));
      await runRaw(['ip', 'netns', 'del', ns]);
    }
  }
  // processes take a moment to leave their cgroups after SIGKILL
  for (let i = 0; i < 50 && hierarchies.some((hier) => pidsUnder(join(hier, parent)).length > 0); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await removeCgroup('/', parent);
  for (const mp of mountsUnder(dirname(h.dataRoot))) await runRaw(['umount', '-l', mp]);
}
