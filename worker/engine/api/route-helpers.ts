/** Small pieces shared by the REST plugins. */
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { COMMON_HEADERS } from './version-prefix.js';
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
 * Starts a streamed 200 response now: the headers are flushed at once (`docker run` waits for the
 * `wait` headers before it starts the container; `logs -f` and `events` show nothing until then), and
 * the raw response is returned to write to. fastify leaves the reply alone from here on.
 */
export function startStream(_req: FastifyRequest, reply: FastifyReply, contentType: string): ServerResponse {
  reply.hijack();
  const res = reply.raw;
  res.on('error', () => undefined);
  res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': contentType });
  res.flushHeaders();
  return res;
}

/** An AbortSignal that fires when the response is closed (the client went away, or it ended). */
export function clientGone(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.once('close', () => ac.abort());
  return ac.signal;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: unknown, dflt = ''): string {
  return typeof v === 'string' ? v : dflt;
}
