/** `GET /containers/{id}/top`: the host's `ps` output, kept to the processes in the container's cgroup. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { badRequest, conflict } from './errors.js';

const CONTROLLERS = ['pids', 'memory', 'cpu,cpuacct', 'cpu', 'freezer'];

async function cgroupPids(cgroup: string): Promise<Set<number> | undefined> {
  for (const c of CONTROLLERS) {
    try {
      const text = await readFile(join('/sys/fs/cgroup', c, cgroup, 'cgroup.procs'), 'utf8');
      return new Set(text.split('\n').filter((l) => l.trim() !== '').map(Number));
    } catch {
      // try the next controller
    }
  }
  return undefined;
}

function ps(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ps', args, { timeout: 10_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(badRequest(`ps ${args.join(' ')} failed: ${String(stderr).trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Docker's top shape; `psArgs` defaults to `-ef`. */
export async function containerTop(cgroup: string, psArgs = '-ef'): Promise<{ Titles: string[]; Processes: string[][] }> {
  const pids = await cgroupPids(cgroup);
  if (!pids || pids.size === 0) throw conflict('the container is not running');
  const args = psArgs.trim() === '' ? ['-ef'] : psArgs.trim().split(/\s+/);
  if (args.some((a) => !/^[-a-zA-Z0-9,=%:]+$/.test(a))) throw badRequest(`invalid ps arguments: ${psArgs}`);
  const lines = (await ps(args)).split('\n').filter((l) => l.trim() !== '');
  const titles = (lines[0] ?? '').trim().split(/\s+/);
  const pidCol = titles.indexOf('PID');
  if (pidCol < 0) throw badRequest(`ps ${psArgs} prints no PID column`);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const cells = line.trim().split(/\s+/);
    if (!pids.has(Number(cells[pidCol]))) continue;
    // the last column (the command) keeps its spaces
    processes.push([...cells.slice(0, titles.length - 1), cells.slice(titles.length - 1).join(' ')]);
  }
  return { Titles: titles, Processes: processes };
}
