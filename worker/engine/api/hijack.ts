/**
 * The hijacked conversations: `POST /containers/{id}/attach` and `POST /exec/{id}/start` with
 * `Connection: Upgrade` / `Upgrade: tcp`. They arrive on the HTTP server's `upgrade` event (fastify never
 * sees them); the answer is `101 UPGRADED`, then the socket carries stdin one way and the output (stdcopy
 * frames unless TTY) the other; the socket is half-closed when the output ends.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError, toApiError } from './errors.js';
import type { EngineApiDeps, ExecSession, AttachSession } from './ports.js';
import { qBool, type Query } from './query.js';
import { isRecord } from './route-helpers.js';
import { containerTty, execTty, MUX_STREAM, pumpOutput, RAW_STREAM } from './streams.js';
import { stripVersion } from './version-prefix.js';

const BODY_LIMIT = 1024 * 1024;
const BODY_DEADLINE_MS = 10_000;

function writeError(socket: Duplex, e: ApiError): void {
  const body = JSON.stringify({ message: e.message });
  const reason = e.status === 404 ? 'Not Found' : e.status === 409 ? 'Conflict' : e.status === 400 ? 'Bad Request' : 'Error';
  socket.end(`HTTP/1.1 ${e.status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** Reads a Content-Length body that starts in `head` and continues on the socket; returns it and what follows. */
function readBody(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<{ body: Buffer; rest: Buffer }> {
  const len = Number(req.headers['content-length'] ?? '0');
  if (!Number.isFinite(len) || len < 0 || len > BODY_LIMIT) return Promise.reject(new ApiError(400, 'bad Content-Length for a hijacked request'));
  if (head.length >= len) return Promise.resolve({ body: head.subarray(0, len), rest: head.subarray(len) });
  return new Promise((resolve, reject) => {
    let buf = head;
    const timer = setTimeout(() => finish(new ApiError(400, 'request body did not arrive in time')), BODY_DEADLINE_MS);
    const onData = (c: Buffer): void => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= len) finish();
    };
    const onEnd = (): void => finish(new ApiError(400, 'connection closed before the request body was complete'));
    const finish = (err?: ApiError): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      if (err) reject(err);
      else resolve({ body: buf.subarray(0, len), rest: buf.subarray(len) });
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.resume();
  });
}

function parseJson(b: Buffer): Record<string, unknown> {
  if (b.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(b.toString('utf8'));
  } catch (e) {
    throw new ApiError(400, `invalid JSON in request body: ${(e as Error).message}`);
  }
  if (!isRecord(v)) throw new ApiError(400, 'request body must be a JSON object');
  return v;
}

async function converse(socket: Duplex, session: AttachSession | ExecSession, tty: boolean, rest: Buffer): Promise<void> {
  socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${tty ? RAW_STREAM : MUX_STREAM}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
  const stdin = session.stdin;
  if (stdin) {
    if (rest.length > 0) stdin.write(rest);
    socket.on('data', (c: Buffer) => {
      if (!stdin.write(c)) {
        socket.pause();
        stdin.once('drain', () => socket.resume());
      }
    });
    socket.on('end', () => stdin.end());
    stdin.on('error', () => undefined);
  } else {
    socket.on('data', () => undefined);
  }
  socket.on('error', () => undefined);
  socket.resume();
  try {
    await pumpOutput(session.output, socket, tty);
  } catch {
    socket.destroy();
  } finally {
    if (!socket.destroyed) socket.end();
  }
}

export async function handleUpgrade(deps: EngineApiDeps, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  socket.pause();
  const u = new URL(stripVersion(req.url ?? '/').url, 'http://engine');
  const q: Query = Object.fromEntries(u.searchParams.entries());
  const attach = /^\/containers\/([^/]+)\/attach$/.exec(u.pathname);
  const exec = /^\/exec\/([^/]+)\/start$/.exec(u.pathname);
  try {
    if (req.method !== 'POST' || (!attach && !exec)) throw new ApiError(404, `page not found: ${req.method ?? ''} ${u.pathname} (upgrade)`);
    const containers = deps.containers;
    if (!containers) throw new ApiError(501, 'containers are not available in this engine build');
    const { body, rest } = await readBody(req, socket, head);
    if (attach) {
      const id = decodeURIComponent(attach[1]!);
      const tty = containerTty(containers, id);
      const session = await containers.attach(id, { stdin: qBool(q, 'stdin'), stdout: qBool(q, 'stdout'), stderr: qBool(q, 'stderr'), stream: qBool(q, 'stream'), logs: qBool(q, 'logs') });
      await converse(socket, session, tty, rest);
      return;
    }
    const execId = decodeURIComponent(exec![1]!);
    const b = parseJson(body);
    const tty = b['Tty'] === true || execTty(containers, execId);
    if (b['Detach'] === true) {
      await containers.execStart(execId, { tty, detach: true });
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const session = await containers.execStart(execId, { tty, detach: false });
    await converse(socket, session, tty, rest);
  } catch (e) {
    if (!socket.destroyed && !socket.writableEnded) writeError(socket, toApiError(e));
  }
}
