// HTTP/1.1 JSON API of the example KV store, shaped like etcd's v3 JSON gateway so the same client
// drives both: POST /v3/kv/put {key, value} (base64), POST /v3/kv/range {key}, POST /v3/kv/delete,
// POST /v3/kv/cas {key, value, expected|absent} (shoal only), GET /status, GET /metrics.
// Writes may go to any member (a follower forwards the proposal through Raft); reads are
// linearizable through ReadIndex. A failed request answers 503 with {error, code, outcome, leader}.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { RaftNode } from '../raft-node.js';
import { NotLeaderError, RaftNodeError } from '../raft-errors.js';
import { encodeKvCommand, type KvCommand, type KvResult, type KvStateMachine } from './kv-state-machine.js';

export class KvRequestError extends Error {
  constructor(message: string) { super(message); this.name = 'KvRequestError'; }
}

const MAX_BODY = 4 << 20;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > MAX_BODY) { reject(new KvRequestError('request body too large')); req.destroy(); return; }
      parts.push(c);
    });
    req.on('end', () => resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function field(o: Record<string, unknown>, name: string, required: boolean): Uint8Array | undefined {
  const v = o[name];
  if (v === undefined || v === null) {
    if (required) throw new KvRequestError(`missing field ${name}`);
    return undefined;
  }
  if (typeof v !== 'string') throw new KvRequestError(`field ${name} must be a base64 string`);
  return Buffer.from(v, 'base64');
}

function parseJson(b: Buffer): Record<string, unknown> {
  let v: unknown;
  try { v = JSON.parse(b.length === 0 ? '{}' : b.toString('utf8')); } catch { throw new KvRequestError('body is not JSON'); }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new KvRequestError('body must be a JSON object');
  return v as Record<string, unknown>;
}

export interface KvHttpOptions {
  node: RaftNode;
  sm: KvStateMachine;
  registry?: Registry;
  /** Raft id → HTTP address, for leader hints in errors. */
  httpAddresses?: ReadonlyMap<number, string>;
}

export function createKvHttpServer(o: KvHttpOptions): Server {
  const send = (res: ServerResponse, status: number, body: unknown): void => {
    const s = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s) });
    res.end(s);
  };
  const header = (revision: number): Record<string, unknown> => ({
    member_id: String(o.node.id), raft_term: String(o.node.currentTerm), revision: String(revision),
  });
  const fail = (res: ServerResponse, e: unknown): void => {
    if (e instanceof KvRequestError) { send(res, 400, { error: e.message, code: 3 }); return; }
    if (e instanceof RaftNodeError) {
      const leader = e instanceof NotLeaderError ? e.leader : o.node.leaderId;
      send(res, 503, { error: e.message, code: 14, kind: e.name, outcome: e.outcome, leader, leader_http: o.httpAddresses?.get(leader) ?? '' });
      return;
    }
    send(res, 500, { error: e instanceof Error ? e.message : String(e), code: 13, outcome: 'unknown' });
  };
  const write = async (res: ServerResponse, cmd: KvCommand): Promise<void> => {
    const r = await o.node.propose(encodeKvCommand(cmd));
    const kv = r.result as KvResult;
    const body: Record<string, unknown> = { header: header(r.index) };
    if (cmd.op === 'cas') body.succeeded = kv.succeeded;
    if (cmd.op === 'delete') body.deleted = kv.succeeded ? '1' : '0';
    send(res, 200, body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    if (req.method === 'GET' && url === '/status') {
      const s = o.node.status();
      send(res, 200, { id: s.id, role: s.role, leader: s.leader, leader_http: o.httpAddresses?.get(s.leader) ?? '', term: s.term, commit: s.commit, applied: s.applied, syncs: s.syncs, members: s.members });
      return;
    }
    if (req.method === 'GET' && url === '/metrics' && o.registry !== undefined) {
      const text = await o.registry.metrics();
      res.writeHead(200, { 'content-type': o.registry.contentType });
      res.end(text);
      return;
    }
    if (req.method !== 'POST') { send(res, 404, { error: `no route ${req.method ?? ''} ${url}`, code: 12 }); return; }
    const body = parseJson(await readBody(req));
    switch (url) {
      case '/v3/kv/put':
        await write(res, { op: 'put', key: field(body, 'key', true)!, value: field(body, 'value', false) ?? new Uint8Array(0) });
        return;
      case '/v3/kv/delete':
      case '/v3/kv/deleterange':
        await write(res, { op: 'delete', key: field(body, 'key', true)! });
        return;
      case '/v3/kv/cas': {
        const absent = body.absent === true;
        await write(res, { op: 'cas', key: field(body, 'key', true)!, value: field(body, 'value', false) ?? new Uint8Array(0), expected: absent ? null : field(body, 'expected', true)! });
        return;
      }
      case '/v3/kv/range': {
        const key = field(body, 'key', true)!;
        if (body.serializable !== true) await o.node.linearizableRead();
        const it = o.sm.get(key);
        const out: Record<string, unknown> = { header: header(o.sm.appliedIndex) };
        if (it !== undefined) {
          out.kvs = [{ key: Buffer.from(key).toString('base64'), value: Buffer.from(it.value).toString('base64'), mod_revision: String(it.revision) }];
          out.count = '1';
        }
        send(res, 200, out);
        return;
      }
      default:
        send(res, 404, { error: `no route POST ${url}`, code: 12 });
    }
  };

  const server = createServer({ keepAliveTimeout: 60_000, requestTimeout: 30_000 }, (req, res) => {
    handle(req, res).catch((e: unknown) => { if (!res.headersSent) fail(res, e); else res.destroy(); });
  });
  return server;
}
