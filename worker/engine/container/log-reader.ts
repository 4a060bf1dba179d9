/**
 * Reads conmon's k8s-file log (`<RFC3339Nano> stdout|stderr F|P <text>`; P lines are partial and join
 * the next), with tail, since/until, and follow (fs.watch plus a slow poll) until `stop` says so.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, stat } from 'node:fs/promises';

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** RFC 3339 with nanoseconds, as conmon wrote it */
  time: string;
  data: Buffer;
}

export interface LogOptions {
  follow?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  /** unix seconds (fractions allowed) */
  since?: number;
  until?: number;
  /** number of last lines, or undefined for all */
  tail?: number;
  /** byte offset to start reading at (attach: the end of the file) */
  fromOffset?: number;
  /** follow ends when this resolves (the container stopped) */
  stopped?: () => Promise<void>;
  signal?: AbortSignal;
}

/** Parses complete lines; partial (P) pieces are joined into the next F line of the same stream. */
export class K8sLogParser {
  private rest = Buffer.alloc(0);
  private readonly partial: Record<'stdout' | 'stderr', Buffer[]> = { stdout: [], stderr: [] };

  push(chunk: Buffer): LogEntry[] {
    const buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    const out: LogEntry[] = [];
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      const e = this.line(buf.subarray(start, nl));
      if (e) out.push(e);
      start = nl + 1;
    }
    this.rest = Buffer.from(buf.subarray(start));
    return out;
  }

  /** Pieces of partial lines still waiting for their end (at the end of the stream). */
  flush(): LogEntry[] {
    const out: LogEntry[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream].length === 0) continue;
      out.push({ stream, time: this.lastTime, data: Buffer.concat(this.partial[stream]) });
      this.partial[stream] = [];
    }
    return out;
  }

  private lastTime = '';

  private line(line: Buffer): LogEntry | undefined {
    const s1 = line.indexOf(0x20);
    const s2 = s1 < 0 ? -1 : line.indexOf(0x20, s1 + 1);
    const s3 = s2 < 0 ? -1 : line.indexOf(0x20, s2 + 1);
    if (s3 < 0) return undefined;
    const time = line.subarray(0, s1).toString();
    const stream = line.subarray(s1 + 1, s2).toString();
    const tag = line.subarray(s2 + 1, s3).toString();
    if (stream !== 'stdout' && stream !== 'stderr') return undefined;
    const text = line.subarray(s3 + 1);
    this.lastTime = time;
    if (tag.startsWith('P')) {
      this.partial[stream].push(Buffer.from(text));
      return undefined;
    }
    const parts = this.partial[stream];
    this.partial[stream] = [];
    return { stream, time, data: Buffer.concat([...parts, text, Buffer.from('\n')]) };
  }
}

/** Unix seconds (with fraction) of an RFC 3339 nano timestamp. */
export function logTimeSeconds(t: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(t);
  if (!m) return Date.parse(t) / 1000;
  const base = Date.parse(`${m[1]}${m[3]}`) / 1000;
  return base + Number(`0.${m[2] ?? '0'}`);
}

function wanted(e: LogEntry, o: LogOptions): boolean {
  if (e.stream === 'stdout' && o.stdout === false) return false;
  if (e.stream === 'stderr' && o.stderr === false) return false;
  if (o.since !== undefined && o.since > 0 && logTimeSeconds(e.time) < o.since) return false;
  if (o.until !== undefined && o.until > 0 && logTimeSeconds(e.time) > o.until) return false;
  return true;
}

export async function* readLogs(path: string, o: LogOptions = {}): AsyncGenerator<LogEntry> {
  // a container that has not run yet has no log: following it must not end before it starts
  if (o.follow) await open(path, 'a').then((h) => h.close()).catch(() => undefined);
  const fh = await open(path, 'r').catch(() => undefined);
  if (!fh) return;
  let pos = o.fromOffset ?? 0;
  const parser = new K8sLogParser();
  const readMore = async (): Promise<LogEntry[]> => {
    const out: LogEntry[] = [];
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      out.push(...parser.push(buf.subarray(0, bytesRead)));
    }
    return out;
  };
  let watcher: FSWatcher | undefined;
  try {
    let first = (await readMore()).filter((e) => wanted(e, o));
    if (!o.follow) first.push(...parser.flush().filter((e) => wanted(e, o)));
    if (o.tail !== undefined && o.tail >= 0) first = o.tail === 0 ? [] : first.slice(-o.tail);
    for (const e of first) yield e;
    if (!o.follow) return;
    let wake: (() => void) | undefined;
    let stopped = false;
    const poke = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    watcher = watch(path, poke);
    watcher.on('error', () => undefined);
    void o.stopped?.().then(() => {
      stopped = true;
      poke();
    });
    o.signal?.addEventListener('abort', () => {
      stopped = true;
      poke();
    });
    for (;;) {
      const wasStopped = stopped;
      for (const e of await readMore()) if (wanted(e, o)) yield e;
      if (wasStopped || o.signal?.aborted) {
        for (const e of parser.flush()) if (wanted(e, o)) yield e;
        return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(poke, 250);
      });
    }
  } finally {
    watcher?.close();
    await fh.close();
  }
}

/** The current size of the log (attach starts following from here). */
export async function logSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
