/**
 * The agent's assigned tasks on disk (`<stateDir>/tasks.json`), so a restarted shoald resumes: written
 * to a temporary file, fsynced, renamed over the old one, and the directory fsynced.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Task, TaskStatus } from '../../manager/store/index.js';

export interface PersistedTask {
  task: Task;
  /** the status this node last observed (ahead of the manager's copy until reported) */
  status: TaskStatus;
}

export const TASK_FILE = 'tasks.json';

export async function loadTasks(stateDir: string): Promise<PersistedTask[]> {
  let text: string;
  try {
    text = await readFile(join(stateDir, TASK_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const parsed: unknown = JSON.parse(text);
  const list = (parsed as { tasks?: unknown })?.tasks;
  if (!Array.isArray(list)) throw new Error(`${TASK_FILE}: "tasks" is not an array`);
  return list.filter(
    (x): x is PersistedTask =>
      typeof x === 'object' && x !== null && typeof (x as PersistedTask).task?.ID === 'string' && typeof (x as PersistedTask).status?.State === 'string',
  );
}

export async function saveTasks(stateDir: string, tasks: PersistedTask[]): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  const final = join(stateDir, TASK_FILE);
  const tmp = `${final}.tmp`;
  const f = await open(tmp, 'w', 0o600);
  try {
    await f.writeFile(JSON.stringify({ tasks }));
    await f.sync();
  } finally {
    await f.close();
  }
  await rename(tmp, final);
  const d = await open(stateDir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
