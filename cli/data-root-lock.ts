/** One shoald per data root: a pid file created exclusively; a file left by a dead process is taken over. */
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

export class DataRootLockedError extends Error {
  constructor(
    readonly pid: number,
    readonly path: string,
  ) {
    super(`another shoald (pid ${pid}) is using this data root (lock ${path})`);
    this.name = 'DataRootLockedError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface DataRootLock {
  path: string;
  release(): Promise<void>;
}

export async function lockDataRoot(dataRoot: string): Promise<DataRootLock> {
  const path = join(dataRoot, 'shoald.pid');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o644);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return {
        path,
        release: async () => {
          const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
          if (owner === process.pid) await rm(path, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) throw new DataRootLockedError(pid, path);
      await rm(path, { force: true });
    }
  }
  throw new Error(`could not take the data root lock ${path}`);
}
