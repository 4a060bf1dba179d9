/**
 * Serves this node's images to other nodes of the cluster (peer-protocol.ts): read-only,
 * content-addressed, over HTTPS that demands a client certificate signed by the cluster root (the
 * node certificates the CA issues). `peerHandler` is the bare request handler, for mounting in a
 * listener the swarm already has; `startPeerServer` is a listener of its own.
 *
 * The server does not vouch for what it sends: a blob that rotted on this node's disk goes out as it
 * is, and the puller's digest check refuses it. A manifest is read through the store's checked read,
 * so a corrupt manifest is a 500 here already.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { ImageError, messageOf } from './errors.js';
import type { ImageStore } from './image-store.js';
import { MEDIA } from './oci-types.js';
import { HEADER_DIGEST, HEADER_IMAGE_ID, lookupKey, parsePeerRequest } from './peer-protocol.js';

export interface PeerServerTls {
  /** this node's certificate and key (PEM) */
  certPem: string;
  keyPem: string;
  /** the cluster root: client certificates must chain to it */
  rootPem: string;
}

export interface PeerServerOptions {
  store: ImageStore;
  tls: PeerServerTls;
  /** default 127.0.0.1 */
  host?: string;
  /** default 0 (any free port) */
  port?: number;
  /**
   * Extra check of a verified client certificate (e.g. the cluster ID in O, a node not removed);
   * answers the reason to refuse, or undefined to serve. The chain is checked by TLS before this.
   */
  authorize?: (cert: PeerCertificate) => string | undefined;
  /** idle socket timeout, default 60 s */
  idleTimeoutMs?: number;
}

export interface PeerServer {
  host: string;
  port: number;
  /** "host:port", what a PeerClient dials */
  address: string;
  server: Server;
  close(): Promise<void>;
}

function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ message });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function mediaTypeOf(bytes: Buffer): string {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown };
    return typeof v.mediaType === 'string' && v.mediaType !== '' ? v.mediaType : MEDIA.manifest;
  } catch {
    return MEDIA.manifest;
  }
}

/** The request handler (any node:http(s) server). `authorize` sees the TLS client certificate when there is one. */
export function peerHandler(store: ImageStore, authorize?: (cert: PeerCertificate) => string | undefined): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void serve(store, req, res, authorize).catch((e: unknown) => sendError(res, e instanceof ImageError ? e.status : 500, messageOf(e)));
  };
}

async function serve(store: ImageStore, req: IncomingMessage, res: ServerResponse, authorize?: (cert: PeerCertificate) => string | undefined): Promise<void> {
  res.on('error', () => undefined);
  if (authorize !== undefined) {
    const sock = req.socket as Partial<TLSSocket>;
    const cert = typeof sock.getPeerCertificate === 'function' ? sock.getPeerCertificate() : undefined;
    const refusal = cert === undefined || cert.raw === undefined ? 'a client certificate is required' : authorize(cert);
    if (refusal !== undefined) return sendError(res, 403, refusal);
  }
  const r = parsePeerRequest(req.method ?? 'GET', req.url ?? '/');
  if (r.kind === 'error') return sendError(res, r.status, r.message);
  const head = req.method === 'HEAD';
  if (r.kind === 'manifest') {
    const rec = store.resolve(lookupKey(r.ref));
    if (rec === undefined) return sendError(res, 404, `No such image on this node: ${r.ref}`);
    const bytes = await store.blobs.read(rec.manifestDigest as `sha256:${string}`);
    res.writeHead(200, { 'Content-Type': mediaTypeOf(bytes), 'Content-Length': bytes.length, [HEADER_DIGEST]: rec.manifestDigest, [HEADER_IMAGE_ID]: rec.id });
    res.end(head ? undefined : bytes);
    return;
  }
  if (!(await store.blobs.has(r.digest))) return sendError(res, 404, `blob ${r.digest} is not on this node`);
  const size = await store.blobs.size(r.digest);
  // "Range: bytes=N-" resumes a broken transfer (the only range form a puller sends)
  const range = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
  const start = range !== null ? Number(range[1]) : 0;
  if (range !== null && (!Number.isSafeInteger(start) || start >= size)) {
    res.writeHead(416, { 'Content-Range': `bytes */${size}`, 'Content-Length': 0 });
    res.end();
    return;
  }
  const headers = { 'Content-Type': 'application/octet-stream', 'Content-Length': size - start, [HEADER_DIGEST]: r.digest, 'Accept-Ranges': 'bytes' };
  if (range !== null) res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${size - 1}/${size}` });
  else res.writeHead(200, headers);
  if (head) {
    res.end();
    return;
  }
  try {
    await pipeline(createReadStream(store.blobs.path(r.digest), { start }), res);
  } catch {
    res.destroy(); // the client sees a short body, never a complete wrong one
  }
}

/** An HTTPS listener with mutual TLS serving `peerHandler`. */
export function startPeerServer(opts: PeerServerOptions): Promise<PeerServer> {
  const host = opts.host ?? '127.0.0.1';
  const server = createServer(
    { cert: opts.tls.certPem, key: opts.tls.keyPem, ca: opts.tls.rootPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
    peerHandler(opts.store, opts.authorize ?? (() => undefined)),
  );
  server.setTimeout(opts.idleTimeoutMs ?? 60_000, (sock) => sock.destroy());
  server.headersTimeout = 15_000;
  server.on('tlsClientError', () => undefined); // a refused handshake is the client's problem
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      resolve({
        host,
        port,
        address: `${host.includes(':') ? `[${host}]` : host}:${port}`,
        server,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
