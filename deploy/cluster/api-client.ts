/** A small client for a shoald's REST API over its unix socket, with a deadline on every call. */
import { request } from 'node:http';
import type { Readable } from 'node:stream';

export interface ApiResponse {
  status: number;
  body: string;
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

export function api(
  socket: string,
  method: string,
  path: string,
  body?: unknown,
  opts: { timeoutMs?: number; stream?: Readable; contentType?: string } = {},
): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    let payload: string | undefined;
    if (opts.stream) headers['content-type'] = opts.contentType ?? 'application/x-tar';
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    const req = request({ socketPath: socket, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: text });
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`${method} ${path} on ${socket}: no answer within ${opts.timeoutMs ?? 30_000} ms`)), opts.timeoutMs ?? 30_000);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    if (opts.stream) opts.stream.pipe(req);
    else req.end(payload);
  });
}

/** Like `api`, but a status ≥ 400 becomes an ApiError carrying the daemon's message. */
export async function apiOk(socket: string, method: string, path: string, body?: unknown, opts: Parameters<typeof api>[4] = {}): Promise<string> {
  const r = await api(socket, method, path, body, opts);
  if (r.status >= 400) {
    let msg = r.body;
    try {
      msg = (JSON.parse(r.body) as { message?: string }).message ?? r.body;
    } catch {
      // not JSON
    }
    throw new ApiError(r.status, `${method} ${path}: ${msg}`);
  }
  return r.body;
}
