/**
 * A client of the engine's REST API over a unix socket: plain requests with deadlines, streamed
 * responses, and the hijacked (101 Upgrade) conversations of attach and exec.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { socketPathOf } from './host-address.js';

export const CLIENT_API_VERSION = '1.45';

/** The daemon answered with an error; `message` is its `{"message"}`. */
export class ApiResponseError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiResponseError';
  }
}

/** Nothing answers on the socket. */
export class DaemonUnreachableError extends Error {
  constructor(host: string, cause: unknown) {
    super(`Cannot connect to the shoal daemon at ${host}. Is shoald running? (${(cause as Error).message})`, { cause });
    this.name = 'DaemonUnreachableError';
  }
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | string[] | undefined>;
  body?: unknown;
  /** a raw body (tar archives) */
  stream?: Readable;
  contentType?: string;
  /** deadline for the response headers (default 60 s; streams then run until they end) */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export interface Response {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

function buildPath(path: string, query: RequestOptions['query']): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) qs.append(k, x);
    else qs.append(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  }
  const s = qs.toString();
  return `/v${CLIENT_API_VERSION}${path}${s ? `?${s}` : ''}`;
}

async function readAll(res: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of res) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function errorMessage(body: Buffer): string {
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    if (typeof v === 'object' && v !== null && typeof (v as { message?: unknown }).message === 'string') return (v as { message: string }).message;
  } catch {
    // not JSON: the body itself is the message
  }
  return body.toString('utf8').trim();
}

export class ApiClient {
  readonly socketPath: string;
  constructor(readonly host: string) {
    this.socketPath = socketPathOf(host);
  }

  /** Sends one request and returns the response stream (status checked: 4xx/5xx throw ApiResponseError). */
  open(method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      let payload: Buffer | undefined;
      if (opts.body !== undefined) {
        payload = Buffer.from(JSON.stringify(opts.body));
        headers['Content-Type'] = 'application/json';
        headers['Content-Length'] = String(payload.length);
      } else if (opts.stream) {
        headers['Content-Type'] = opts.contentType ?? 'application/x-tar';
      }
      const req = httpRequest({ socketPath: this.socketPath, method, path: buildPath(path, opts.query), headers });
      const timer = setTimeout(() => req.destroy(new Error(`no answer from the daemon within ${opts.timeoutMs ?? 60_000} ms`)), opts.timeoutMs ?? 60_000);
      req.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'EACCES') reject(new DaemonUnreachableError(this.host, e));
        else reject(e);
      });
      req.on('response', (res) => {
        clearTimeout(timer);
        if ((res.statusCode ?? 500) >= 400) {
          readAll(res).then(
            (b) => reject(new ApiResponseError(res.statusCode ?? 500, errorMessage(b))),
            reject,
          );
          return;
        }
        resolve(res);
      });
      if (payload) req.end(payload);
      else if (opts.stream) opts.stream.pipe(req);
      else req.end();
    });
  }

  async call(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const res = await this.open(method, path, opts);
    return { status: res.statusCode ?? 0, headers: res.headers, body: await readAll(res) };
  }

  async json<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const r = await this.call(method, path, opts);
    const text = r.body.toString('utf8');
    return (text.trim() === '' ? undefined : JSON.parse(text)) as T;
  }

  /** The 101 Upgrade conversation: resolves with the raw socket and the content type the daemon chose. */
  hijack(path: string, opts: { query?: RequestOptions['query']; body?: unknown; timeoutMs?: number }): Promise<{ socket: Duplex; contentType: string; head: Buffer }> {
    return new Promise((resolve, reject) => {
      const payload = opts.body !== undefined ? Buffer.from(JSON.stringify(opts.body)) : Buffer.alloc(0);
      const req = httpRequest({
        socketPath: this.socketPath,
        method: 'POST',
        path: buildPath(path, opts.query),
        headers: { Connection: 'Upgrade', Upgrade: 'tcp', 'Content-Type': opts.body !== undefined ? 'application/json' : 'text/plain', 'Content-Length': String(payload.length) },
      });
      const timer = setTimeout(() => req.destroy(new Error('the daemon did not upgrade the connection in time')), opts.timeoutMs ?? 60_000);
      req.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') reject(new DaemonUnreachableError(this.host, e));
        else reject(e);
      });
      req.on('upgrade', (res, socket, head) => {
        clearTimeout(timer);
        resolve({ socket, contentType: String(res.headers['content-type'] ?? ''), head });
      });
      req.on('response', (res) => {
        clearTimeout(timer);
        readAll(res).then(
          (b) => reject(new ApiResponseError(res.statusCode ?? 500, errorMessage(b))),
          reject,
        );
      });
      req.end(payload);
    });
  }
}
