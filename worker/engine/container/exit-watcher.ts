/** Watches conmon's exit dir (fs.watch plus a slow poll) and reports each watched container's exit code once. */
import { watch, type FSWatcher } from 'node:fs';
import { readExitFile } from '../runtime/conmon.js';

export class ExitWatcher {
  private readonly watched = new Set<string>();
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<string>();
  private readonly again = new Set<string>();

  constructor(
    private readonly exitDir: string,
    private readonly onExit: (id: string, code: number) => void,
    private readonly pollMs = 1000,
  ) {}

  start(): void {
    this.watcher = watch(this.exitDir, (_ev, file) => {
      if (typeof file === 'string' && this.watched.has(file)) void this.check(file);
    });
    this.watcher.on('error', () => undefined);
    this.poll = setInterval(() => {
      for (const id of this.watched) void this.check(id);
    }, this.pollMs);
    this.poll.unref();
  }

  add(id: string): void {
    this.watched.add(id);
    void this.check(id);
  }

  remove(id: string): void {
    this.watched.delete(id);
  }

  private async check(id: string): Promise<void> {
    // an event during a read (conmon creates the file, then writes the code) must not be lost, or the
    // exit would only be seen at the next slow poll: read again after the one in flight
    if (this.inFlight.has(id)) {
      this.again.add(id);
      return;
    }
    this.inFlight.add(id);
    try {
      for (;;) {
        this.again.delete(id);
        const code = await readExitFile(this.exitDir, id);
        if (code !== undefined && this.watched.delete(id)) this.onExit(id, code);
        if (code !== undefined || !this.again.has(id) || !this.watched.has(id)) break;
      }
    } finally {
      this.inFlight.delete(id);
      this.again.delete(id);
    }
  }

  close(): void {
    this.watcher?.close();
    if (this.poll) clearInterval(this.poll);
    this.watched.clear();
  }
}
