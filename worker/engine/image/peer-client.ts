/**
 * Fetches manifests and blobs from another node's engine (peer-protocol.ts) over HTTPS with this
 * node's certificate. The server is checked by chain against the cluster root (TLS) and then by
 * `checkServer` (e.g. that it is the node we meant to dial), not by hostname: nodes are dialled by IP.
 * Every request has a deadline (whole request) and an idle timeout (no byte for that long). What comes
 * back is not trusted: the digest of the manifest bytes is computed here, and blobs are checked by
 * the puller as they are stored.
 */
import { request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { PeerCertificate } from 'node:tls';
import { sha256Of, type Digest } from './digest.js';
import { ImageError, imageNotFound, messageOf } from './errors.js';
import { blobPath, HEADER_DIGEST, HEADER_IMAGE_ID, manifestPath } from './peer-protocol.js';

export interface PeerClientOptions {
  /** "host:port" of the peer's listener */
  address: string;
  /** named in errors and progress, e.g. the peer's node ID */
  name?: string;
  /** this node's certificate and key, and the cluster root (PEM) */
  tls: { certPem: string; keyPem: string; rootPem: string };
  /** extra check of the server's verified certificate; answer an Error to refuse */
  checkServer?: (cert: PeerCertificate) => Error | undefined;
  /** deadline of a manifest request, default 15 s */
  timeoutMs?: number;
  /** deadline of a whole blob transfer, default 600 s */
  blobTimeoutMs?: number;
  /** no byte for this long ends a transfer, default 30 s */
  idleTimeoutMs?: number;
}

export interface PeerManifest {
  bytes: Buffer;
  /** computed here from the bytes */
  digest: Digest;
  /** what the peer says the digest is (must equal `digest`) */
  claimedDigest: string | undefined;
  mediaType: string;
  /** the peer's image ID (its config digest), as it says */
  imageId: string | undefined;
}

const MAX_MANIFEST = 4 * 1024 * 1024;

function splitAddress(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  if (m === null) throw new ImageError(400, `peer address: "${address}" is not host:port`);
  return { host: m[1]!, port: Number(m[2]) };
}

export class PeerClient {
  readonly label: string;
  private readonly host: string;
  private readonly port: number;

  constructor(private readonly opts: PeerClientOptions) {
    const a = splitAddress(opts.address);
    this.host = a.host;
    this.port = a.port;
    this.label = opts.name !== undefined ? `peer ${opts.name} (${opts.address})` : `peer ${opts.address}`;
  }

  private get(path: string, deadlineMs: number, headers: Record<string, string> = {}): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = request({
        host: this.host,
        port: this.port,
        method: 'GET',
        path,
        headers,
        ca: this.opts.tls.rootPem,
        cert: this.opts.tls.certPem,
        key: this.opts.tls.keyPem,
        checkServerIdentity: (_host: string, cert: PeerCertificate) => this.opts.checkServer?.(cert),
        signal: AbortSignal.timeout(deadlineMs),
        agent: false,
      });
      req.setTimeout(this.opts.idleTimeoutMs ?? 30_000, () => req.destroy(new Error(`no data for ${this.opts.idleTimeoutMs ?? 30_000} ms`)));
      req.once('error', (e) => reject(new ImageError(500, `${this.label} did not answer GET ${path}: ${messageOf(e)}`, { cause: e })));
      req.once('response', resolve);
      req.end();
    });
  }

  private async failure(res: IncomingMessage, what: string): Promise<ImageError> {
    const parts: Buffer[] = [];
    let n = 0;
    try {
      for await (const c of res) {
        n += (c as Buffer).length;
        if (n > 64 * 1024) break;
        parts.push(c as Buffer);
      }
    } catch {
      // the body is only for the message
    }
    res.destroy();
    let message = Buffer.concat(parts).toString('utf8').trim();
    try {
      const v = JSON.parse(message) as { message?: unknown };
      if (typeof v.message === 'string') message = v.message;
    } catch {
      // not JSON
    }
    const text = `${this.label} answered ${res.statusCode} for ${what}: ${message.slice(0, 300)}`;
    return res.statusCode === 404 ? imageNotFound(text) : new ImageError(500, text);
  }

  /** The manifest of the peer's image `ref` (a tag, a name@digest, or an image ID). */
  async manifest(ref: string): Promise<PeerManifest> {
    const res = await this.get(manifestPath(ref), this.opts.timeoutMs ?? 15_000);
    if (res.statusCode !== 200) throw await this.failure(res, `the manifest of ${ref}`);
    const parts: Buffer[] = [];
    let n = 0;
    try {
      for await (const c of res) {
        n += (c as Buffer).length;
        if (n > MAX_MANIFEST) {
          res.destroy();
          throw new ImageError(500, `${this.label} sent a manifest larger than ${MAX_MANIFEST} bytes for ${ref}`);
        }
        parts.push(c as Buffer);
      }
    } catch (e) {
      if (e instanceof ImageError) throw e;
      throw new ImageError(500, `${this.label} broke off the manifest of ${ref}: ${messageOf(e)}`, { cause: e });
    }
    const bytes = Buffer.concat(parts);
    const claimed = res.headers[HEADER_DIGEST];
    const id = res.headers[HEADER_IMAGE_ID];
    return {
      bytes,
      digest: sha256Of(bytes),
      claimedDigest: typeof claimed === 'string' ? claimed : undefined,
      mediaType: (res.headers['content-type'] ?? '').split(';')[0]!.trim(),
      imageId: typeof id === 'string' ? id : undefined,
    };
  }

  /** The blob from byte `offset` on, to resume a broken transfer; `start` is 0 when the peer sent it whole. */
  async blobFrom(digest: Digest, offset: number): Promise<{ stream: Readable; start: number }> {
    const res = await this.get(blobPath(digest), this.opts.blobTimeoutMs ?? 600_000, { Range: `bytes=${offset}-` });
    if (res.statusCode === 200) return { stream: res, start: 0 };
    if (res.statusCode !== 206) throw await this.failure(res, `blob ${digest} from byte ${offset}`);
    const start = Number(/^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''))?.[1] ?? NaN);
    if (start !== offset) {
      res.destroy();
      throw new ImageError(500, `${this.label} answered a range of blob ${digest} that does not start at ${offset}`);
    }
    return { stream: res, start };
  }

  /** A blob's bytes as a stream (the caller hashes them while storing). */
  async blob(digest: Digest): Promise<Readable> {
    const res = await this.get(blobPath(digest), this.opts.blobTimeoutMs ?? 600_000);
    if (res.statusCode !== 200) throw await this.failure(res, `blob ${digest}`);
    return res;
  }
}
