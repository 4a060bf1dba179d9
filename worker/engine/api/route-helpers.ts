/** Small pieces shared by the REST plugins. */
import { PassThrough } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { notImplemented } from './errors.js';
import type { Query } from './query.js';

export function need<T>(port: T | undefined, what: string): T {
  if (port === undefined) throw notImplemented(what);
  return port;
}

export function query(req: FastifyRequest): Query {
  return (req.query ?? {}) as Query;
}

export function param(req: FastifyRequest, name: string): string {
  const p = (req.params ?? {}) as Record<string, unknown>;
  const v = p[name];
  return typeof v === 'string' ? decodeURIComponent(v) : '';
}

/**
 * Starts a streamed 200 response now (headers go out at once, as `wait` and `logs -f` need) and
 * returns the stream to write to. The stream is ended when the client goes away.
 */
export function startStream(req: FastifyRequest, reply: FastifyReply, contentType: string): PassThrough {
  const out = new PassThrough();
  req.raw.on('close', () => {
    if (!out.writableEnded) out.end();
  });
  void reply.status(200).header('Content-Type', contentType).send(out);
  return out;
}

/** An AbortSignal that fires when the client disconnects. */
export function clientGone(req: FastifyRequest): AbortSignal {
  const ac = new AbortController();
  const onClose = (): void => ac.abort();
  req.raw.once('close', onClose);
  req.raw.socket?.once('close', onClose);
  return ac.signal;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: unknown, dflt = ''): string {
  return typeof v === 'string' ? v : dflt;
}
