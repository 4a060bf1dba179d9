// The HTTP JSON client used against both shoal KV members and etcd's v3 gateway: keep-alive
// connections, a deadline on every request, results as values.
import { Agent, request } from 'node:http';

export type KvReply =
  | { ok: true; status: 200; body: Record<string, unknown> }
  | { ok: false; outcome: 'unknown' | 'not-applied'; status: number; error: string; leaderHttp: string };

export function makeAgent(maxSockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}

export function postJson(agent: Agent, baseUrl: string, path: string, body: unknown, timeoutMs: number): Promise<KvReply> {
  const data = JSON.stringify(body);
  const u = new URL(path, baseUrl);
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: KvReply): void => { if (!settled) { settled = true; resolve(r); } };
    const req = request({
      agent, host: u.hostname, port: u.port, path: u.pathname, method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
    }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('error', (e) => done({ ok: false, outcome: 'unknown', status: 0, error: e.message, leaderHttp: '' }));
      res.on('end', () => {
        clearTimeout(timer);
        let v: unknown;
        try { v = JSON.parse(Buffer.concat(parts).toString('utf8')); } catch { v = {}; }
        const o = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
        if (res.statusCode === 200) { done({ ok: true, status: 200, body: o }); return; }
        const outcome = o.outcome === 'not-applied' ? 'not-applied' : 'unknown';
        done({ ok: false, outcome, status: res.statusCode ?? 0, error: typeof o.error === 'string' ? o.error : `HTTP ${res.statusCode ?? 0}`, leaderHttp: typeof o.leader_http === 'string' ? o.leader_http : '' });
      });
    });
    const timer = setTimeout(() => { req.destroy(new Error(`deadline of ${timeoutMs} ms exceeded`)); }, timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // A refused connection never reached the server: the request was not applied.
      done({ ok: false, outcome: e.code === 'ECONNREFUSED' ? 'not-applied' : 'unknown', status: 0, error: e.message, leaderHttp: '' });
    });
    req.end(data);
  });
}

export const b64 = (s: string | Uint8Array): string => Buffer.from(s).toString('base64');

export async function getJson(baseUrl: string, path: string, timeoutMs: number): Promise<Record<string, unknown> | undefined> {
  try {
    const r = await fetch(new URL(path, baseUrl), { signal: AbortSignal.timeout(timeoutMs) });
    const v: unknown = await r.json();
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
