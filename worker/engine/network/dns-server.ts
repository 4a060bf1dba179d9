/**
 * The engine's embedded DNS. One instance per engine; per container it serves UDP and TCP sockets bound
 * at 127.0.0.11:53 inside the container's netns (bound by dns-socket-helper.js and passed over IPC).
 * The socket a query arrives on tells which container asks, so answers are scoped to its networks.
 * Names the engine does not know are forwarded to the upstream resolvers with a deadline.
 */
import { spawn } from 'node:child_process';
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { decodeMessage, encodeFormErr, encodeResponse, QTYPE, RCODE, type DnsMessage } from './dns-codec.js';

export interface Upstream {
  address: string;
  port: number;
}

/** Addresses for `name` as seen by `containerId`, or undefined when the engine does not own the name. */
export type ScopedLookup = (containerId: string, name: string) => string[] | undefined;

export interface EmbeddedDnsOptions {
  lookup: ScopedLookup;
  upstreams: () => readonly Upstream[];
  forwardTimeoutMs?: number;
  onError?: (e: unknown) => void;
}

interface Listener {
  udp: DgramSocket;
  tcp: Server;
  conns: Set<Socket>;
}

export function parseUpstream(text: string): Upstream | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(text.trim());
  return m ? { address: m[1]!, port: m[2] ? Number(m[2]) : 53 } : undefined;
}

export class EmbeddedDns {
  private readonly listeners = new Map<string, Listener>();
  private readonly opts: EmbeddedDnsOptions;
  constructor(opts: EmbeddedDnsOptions) {
    this.opts = opts;
  }

  has(containerId: string): boolean {
    return this.listeners.has(containerId);
  }

  /** Binds 127.0.0.11:53 (udp+tcp) inside `nsPath` for `containerId`. Idempotent. */
  async listenIn(containerId: string, nsPath: string, timeoutMs = 10_000): Promise<void> {
    if (this.listeners.has(containerId)) return;
    const { udp, tcp } = await bindInNetns(nsPath, timeoutMs);
    const l: Listener = { udp, tcp, conns: new Set() };
    udp.on('message', (msg, rinfo) => {
      void this.answer(containerId, msg).then((resp) => {
        if (resp) udp.send(resp, rinfo.port, rinfo.address);
      }, this.opts.onError);
    });
    udp.on('error', (e) => this.opts.onError?.(e));
    tcp.on('connection', (s) => this.serveTcp(containerId, s, l));
    tcp.on('error', (e) => this.opts.onError?.(e));
    this.listeners.set(containerId, l);
  }

  private serveTcp(containerId: string, s: Socket, l: Listener): void {
    l.conns.add(s);
    s.setTimeout(10_000, () => s.destroy());
    s.on('close', () => l.conns.delete(s));
    s.on('error', () => s.destroy());
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        void this.answer(containerId, Buffer.from(msg)).then((resp) => {
          if (!resp || s.destroyed) return;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(resp.length, 0);
          s.write(Buffer.concat([len, resp]));
        }, this.opts.onError);
      }
    });
  }

  /** Closes the container's sockets (before its netns is deleted). */
  async stopFor(containerId: string): Promise<void> {
    const l = this.listeners.get(containerId);
    if (!l) return;
    this.listeners.delete(containerId);
    for (const c of l.conns) c.destroy();
    await Promise.all([
      new Promise<void>((r) => l.udp.close(() => r())),
      new Promise<void>((r) => l.tcp.close(() => r())),
    ]);
  }

  async close(): Promise<void> {
    await Promise.all([...this.listeners.keys()].map((id) => this.stopFor(id)));
  }

  /** The response to one raw query from `containerId` (undefined = drop). */
  async answer(containerId: string, raw: Buffer): Promise<Buffer | undefined> {
    let q: DnsMessage;
    try {
      q = decodeMessage(raw);
    } catch {
      return encodeFormErr(raw);
    }
    if (q.response) return undefined;
    const question = q.questions[0];
    if (!question || q.opcode !== 0) return encodeResponse(q, RCODE.NOTIMP);
    const name = question.name.replace(/\.$/, '');
    const addrs = this.opts.lookup(containerId, name);
    if (addrs !== undefined) {
      // A name we own: A records for A (and ANY) questions, an empty NOERROR for AAAA and the rest.
      const type = question.type === QTYPE.ANY ? QTYPE.A : question.type;
      return encodeResponse({ ...q, questions: [{ ...question, type }] }, RCODE.NOERROR, type === QTYPE.A ? addrs : []);
    }
    const upstreams = this.opts.upstreams();
    if (upstreams.length === 0) return encodeResponse(q, RCODE.NXDOMAIN);
    for (const u of upstreams) {
      const r = await forwardUdp(raw, u, this.opts.forwardTimeoutMs ?? 2_000);
      if (r) return r;
    }
    return encodeResponse(q, RCODE.SERVFAIL);
  }
}

/** Sends `query` to one upstream and waits for a response with the same id, or undefined at the deadline. */
export function forwardUdp(query: Buffer, u: Upstream, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const id = query.readUInt16BE(0);
    let done = false;
    const finish = (r: Buffer | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      resolve(r);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    sock.on('error', () => finish(undefined));
    sock.on('message', (m) => {
      if (m.length >= 12 && m.readUInt16BE(0) === id) finish(m);
    });
    sock.send(query, u.port, u.address, (err) => {
      if (err) finish(undefined);
    });
  });
}

/** Runs the helper inside `nsPath` and receives its two sockets. */
export function bindInNetns(nsPath: string, timeoutMs: number, address = '127.0.0.11', port = 53): Promise<{ udp: DgramSocket; tcp: Server }> {
  const helper = fileURLToPath(new URL('./dns-socket-helper.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=${nsPath}`, process.execPath, helper, address, String(port)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let udp: DgramSocket | undefined;
    let tcp: Server | undefined;
    let stderr = '';
    let settled = false;
    const settle = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        udp?.close();
        tcp?.close();
        child.kill('SIGKILL');
        reject(err);
      } else {
        if (child.connected) child.send({ kind: 'done' }, (e) => (e ? child.kill('SIGKILL') : undefined));
        resolve({ udp: udp!, tcp: tcp! });
      }
    };
    const timer = setTimeout(() => settle(new Error(`DNS socket helper in ${nsPath} timed out after ${timeoutMs} ms`)), timeoutMs);
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('message', (m: unknown, handle: unknown) => {
      const kind = typeof m === 'object' && m !== null ? (m as { kind?: unknown }).kind : undefined;
      if (kind === 'udp') udp = handle as DgramSocket;
      else if (kind === 'tcp') tcp = handle as Server;
      else if (kind === 'error') settle(new Error(`DNS socket helper in ${nsPath}: ${String((m as { message?: unknown }).message)}`));
      if (udp && tcp) settle(undefined);
    });
    child.on('error', (e) => settle(e));
    child.on('exit', (code) => {
      if (!(udp && tcp)) settle(new Error(`DNS socket helper in ${nsPath} exited with ${String(code)} before handing both sockets over: ${stderr.trim()}`));
    });
  });
}
