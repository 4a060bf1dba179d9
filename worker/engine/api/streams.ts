/** Copies container output to a client: stdcopy frames when the container has no TTY, raw bytes when it has. */
import type { Writable } from 'node:stream';
import type { AttachOutput, ContainerPort } from './ports.js';
import { isRecord } from './route-helpers.js';
import { encodeFrame } from './stdcopy.js';

export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MUX_STREAM = 'application/vnd.docker.multiplexed-stream';

function writeAll(sink: Writable, b: Buffer): Promise<void> | undefined {
  if (b.length === 0 || sink.destroyed || sink.writableEnded) return undefined;
  if (sink.write(b)) return undefined;
  return new Promise((resolve) => {
    const done = (): void => {
      sink.off('drain', done);
      sink.off('close', done);
      resolve();
    };
    sink.once('drain', done);
    sink.once('close', done);
  });
}

/** Writes every chunk of `output` to `sink` (until the sink closes); does not end the sink. */
export async function pumpOutput(output: AsyncIterable<AttachOutput>, sink: Writable, tty: boolean): Promise<void> {
  for await (const chunk of output) {
    if (sink.destroyed || sink.writableEnded) break;
    const p = writeAll(sink, tty ? chunk.data : encodeFrame(chunk.stream, chunk.data));
    if (p) await p;
  }
}

/** `Config.Tty` of a container as its inspect view says. */
export function containerTty(containers: ContainerPort, id: string): boolean {
  const v = containers.inspect(id);
  return isRecord(v) && isRecord(v['Config']) && v['Config']['Tty'] === true;
}

/** The full container ID from its inspect view (the ID given, when the view has none). */
export function containerId(containers: ContainerPort, idOrName: string): string {
  const v = containers.inspect(idOrName);
  return isRecord(v) && typeof v['Id'] === 'string' ? v['Id'] : idOrName;
}

/** Whether an exec runs with a TTY, from its inspect view (Docker: ProcessConfig.tty). */
export function execTty(containers: ContainerPort, execId: string): boolean {
  const v = containers.execInspect(execId);
  if (!isRecord(v)) return false;
  if (isRecord(v['ProcessConfig']) && v['ProcessConfig']['tty'] === true) return true;
  return v['Tty'] === true;
}
