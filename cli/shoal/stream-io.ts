/** Copies daemon streams to the terminal: stdcopy frames split to stdout/stderr, raw streams as they are. */
import type { Readable, Writable } from 'node:stream';
import { StdcopyDecoder } from '../../worker/engine/api/stdcopy.js';

export const MUX_STREAM = 'application/vnd.docker.multiplexed-stream';

export async function copyOutput(src: Readable, multiplexed: boolean, out: Writable = process.stdout, err: Writable = process.stderr, head?: Buffer): Promise<void> {
  const dec = new StdcopyDecoder();
  const handle = (chunk: Buffer): void => {
    if (!multiplexed) {
      out.write(chunk);
      return;
    }
    for (const f of dec.push(chunk)) (f.stream === 'stderr' ? err : out).write(f.data);
  };
  if (head && head.length > 0) handle(head);
  for await (const c of src) handle(c as Buffer);
}
