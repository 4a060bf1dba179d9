/**
 * Peer image distribution wired into a swarm node (engine/image/peer-*.ts does the protocol): while the
 * node is in a swarm it serves its images on <advertise host>:2378 to the other nodes of its cluster
 * (mutual TLS with the node certificates), advertises that listener in its NodeDescription's engine
 * labels, and gives the executor the other ready nodes as image sources.
 *
 * Where the node list comes from: a manager reads it from its own store; a worker asks a manager's peer
 * listener (GET /shoal/peer-directory/v1/nodes, same mutual TLS), since a worker holds no cluster state.
 */
import { createServer, request, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { hostOf } from '../manager/node/addresses.js';
import type { Logger } from '../manager/node/leader-loop.js';
import type { ImageStore } from './engine/image/image-store.js';
import { advertisePeer, DEFAULT_PEER_PORT, peerAuthorizer, peersFromNodes, type PeerNode } from './engine/image/peer-cluster.js';
import type { PeerSource } from './engine/image/peer-pull.js';
import { peerHandler } from './engine/image/peer-server.js';

export const DIRECTORY_PATH = '/shoal/peer-directory/v1/nodes';

export interface SwarmIdentity {
  nodeId: string;
  clusterId: string;
  /** host:port */
  advertiseAddr: string;
  /** host:port of the managers this node knows (their swarm listeners) */
  managers: string[];
  tls: { certPem: string; keyPem: string; rootPem: string };
}

export interface PeerWiringOptions {
  images: ImageStore;
  /** this node's swarm identity, undefined while in no swarm */
  identity: () => SwarmIdentity | undefined;
  /** the cluster's nodes from this node's manager store, undefined while it is not a manager */
  nodes: () => readonly PeerNode[] | undefined;
  log: Logger;
  /** default 2378 */
  port?: number;
  /** deadline of a directory request (default 5 s) */
  timeoutMs?: number;
}

interface Listener {
  key: string;
  certPem: string;
  server: Server;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Only what peersFromNodes reads, so the directory gives away nothing else of the store. */
function slim(nodes: readonly PeerNode[]): PeerNode[] {
  return nodes.map((n) => ({
    ID: n.ID,
    ...(n.Description?.Engine?.Labels ? { Description: { Engine: { Labels: { ...n.Description.Engine.Labels } } } } : {}),
    ...(n.Status?.State !== undefined ? { Status: { State: n.Status.State } } : {}),
  }));
}

function isPeerNodeList(v: unknown): v is PeerNode[] {
  return Array.isArray(v) && v.every((n) => typeof n === 'object' && n !== null && typeof (n as { ID?: unknown }).ID === 'string');
}

export class PeerWiring {
  private listener: Listener | undefined;
  private starting: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly o: PeerWiringOptions) {}

  private get port(): number {
    return this.o.port ?? DEFAULT_PEER_PORT;
  }

  /**
   * The engine labels for this node's description: the peer listener's address while in a swarm (the
   * listener is started, or moved to a new address or cluster, first). `{}` when in no swarm or when
   * the listener cannot start (logged; the node then only pulls from registries and its peers).
   */
  async engineLabels(): Promise<Record<string, string>> {
    const id = this.o.identity();
    if (!id) {
      await this.stopListener();
      return {};
    }
    try {
      await this.ensureListener(id);
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message, port: this.port }, 'peer image listener could not start');
      return {};
    }
    return advertisePeer(hostOf(id.advertiseAddr), this.port);
  }

  private ensureListener(id: SwarmIdentity): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.closed) return;
      const host = hostOf(id.advertiseAddr);
      const key = `${id.clusterId}|${host}|${this.port}`;
      const l = this.listener;
      if (l && l.key === key) {
        if (l.certPem !== id.tls.certPem) {
          l.server.setSecureContext({ cert: id.tls.certPem, key: id.tls.keyPem, ca: id.tls.rootPem });
          l.certPem = id.tls.certPem;
        }
        return;
      }
      await this.stopListener();
      this.listener = { key, certPem: id.tls.certPem, server: await this.listen(id, host) };
      this.o.log.info({ addr: `${host}:${this.port}` }, 'serving images to the swarm\'s nodes');
    };
    const p = (this.starting ?? Promise.resolve()).then(run, run);
    this.starting = p.catch(() => undefined);
    return p;
  }

  private listen(id: SwarmIdentity, host: string): Promise<Server> {
    const authorize = peerAuthorizer(id.clusterId);
    const images = peerHandler(this.o.images, authorize);
    const server = createServer(
      { cert: id.tls.certPem, key: id.tls.keyPem, ca: id.tls.rootPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
      (req: IncomingMessage, res: ServerResponse) => {
        if ((req.url ?? '').split('?')[0] !== DIRECTORY_PATH) return images(req, res);
        res.on('error', () => undefined);
        const cert = (req.socket as Partial<TLSSocket>).getPeerCertificate?.() as PeerCertificate | undefined;
        const refusal = cert?.raw === undefined ? 'a client certificate is required' : authorize(cert);
        if (refusal !== undefined) return sendJson(res, 403, { message: refusal });
        const nodes = this.o.nodes();
        if (nodes === undefined) return sendJson(res, 404, { message: 'this node is not a manager: it has no node list' });
        sendJson(res, 200, slim(nodes));
      },
    );
    server.setTimeout(60_000, (sock) => sock.destroy());
    server.headersTimeout = 15_000;
    server.on('tlsClientError', () => undefined);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, host, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }

  private async stopListener(): Promise<void> {
    const l = this.listener;
    this.listener = undefined;
    if (!l) return;
    await new Promise<void>((done) => {
      l.server.close(() => done());
      l.server.closeAllConnections();
    });
  }

  /** The other ready nodes with a peer listener, as image sources (none while in no swarm). */
  async peers(): Promise<readonly PeerSource[]> {
    const id = this.o.identity();
    if (!id) return [];
    const nodes = this.o.nodes() ?? (await this.directory(id));
    return peersFromNodes(nodes, id.nodeId, id.tls);
  }

  /** The node list from the first manager whose peer listener answers. */
  private async directory(id: SwarmIdentity): Promise<readonly PeerNode[]> {
    const errors: string[] = [];
    for (const m of id.managers) {
      try {
        return await this.fetchDirectory(hostOf(m), id);
      } catch (e) {
        errors.push(`${m}: ${(e as Error).message}`);
      }
    }
    this.o.log.warn({ errors }, 'no manager gave the node list: no peer image sources');
    return [];
  }

  private fetchDirectory(host: string, id: SwarmIdentity): Promise<PeerNode[]> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host, port: this.port, path: DIRECTORY_PATH, method: 'GET',
          cert: id.tls.certPem, key: id.tls.keyPem, ca: id.tls.rootPem, rejectUnauthorized: true,
          checkServerIdentity: () => undefined, // dialled by IP; the chain to the cluster root is what counts
          timeout: this.o.timeoutMs ?? 5000,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            text += d;
            if (text.length > 16 << 20) req.destroy(new Error('node list larger than 16 MiB'));
          });
          res.on('end', () => {
            if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
            try {
              const v: unknown = JSON.parse(text);
              if (!isPeerNodeList(v)) return reject(new Error('malformed node list'));
              resolve(v);
            } catch (e) {
              reject(e as Error);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.o.timeoutMs ?? 5000} ms`)));
      req.on('error', reject);
      req.end();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.starting;
    await this.stopListener();
  }
}
