/**
 * `runc start` without running runc: a created runc container waits in `runc init`, blocked opening
 * `<root>/<id>/exec.fifo` for writing; `runc start` opens it for reading, reads the byte init writes,
 * and removes the fifo (runc derives "created" from its presence). Doing those three steps here saves a
 * Go process per start (~8 ms here). runc's own protocol since 1.0; the runtime probe checks it on this
 * host at start-up and the engine falls back to `runc start` when it does not hold. Not for crun, whose
 * fifo goes the other way.
 */
import { constants } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export class FifoStartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FifoStartError';
  }
}

export function execFifoPath(runtimeRoot: string, id: string): string {
  return join(runtimeRoot, id, 'exec.fifo');
}

/** Lets a blocked reader's open() return: a writer that comes and goes (its open succeeds while a reader waits). */
async function unblockReader(fifo: string): Promise<void> {
  const w = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined);
  await w?.close();
}

/**
 * Starts the created container `id`: resolves once `runc init` has been released to exec the process.
 * Rejects (leaving the container as it was, or gone) when there is no fifo (not in the created state),
 * when init does not answer within `timeoutMs`, or when init closes without a word (it died).
 */
export async function startThroughExecFifo(runtimeRoot: string, id: string, timeoutMs = 10_000): Promise<void> {
  const fifo = execFifoPath(runtimeRoot, id);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void unblockReader(fifo);
  }, timeoutMs);
  try {
    // blocks (on the thread pool) until init has the fifo open for writing — it waits for exactly this
    const fh = await open(fifo, constants.O_RDONLY).catch((e: NodeJS.ErrnoException) => {
      throw new FifoStartError(e.code === 'ENOENT' ? `container ${id} is not in the created state (no exec fifo)` : `cannot open the exec fifo of ${id}: ${e.message}`, { cause: e });
    });
    let got = 0;
    try {
      const buf = Buffer.alloc(16);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break; // init execs the process: its end closes (O_CLOEXEC)
        got += bytesRead;
      }
    } finally {
      await fh.close();
    }
    if (timedOut) throw new FifoStartError(`runc init of ${id} did not answer on its exec fifo within ${timeoutMs} ms`);
    if (got === 0) throw new FifoStartError(`runc init of ${id} closed its exec fifo without a word (it exited)`);
    await unlink(fifo).catch(() => undefined);
  } finally {
    clearTimeout(timer);
  }
}
