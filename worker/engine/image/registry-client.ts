/**
 * A small OCI distribution (registry v2) client for pulls: manifest by tag or digest (an index is
 * resolved to linux/<this arch>), blobs streamed into the blob store with their digests checked,
 * anonymous Bearer-token auth. Plain HTTP only for localhost and 127.0.0.0/8 (as Docker's default
 * insecure registries). Every request has a deadline.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { sha256Of, type Digest } from './digest.js';
import { ImageError, imageNotFound, messageOf } from './errors.js';
import { MEDIA } from './oci-types.js';
import { parseRef } from './reference.js';

export interface RegistryTarget {
  /** e.g. "https://registry-1.docker.io" or "http://127.0.0.1:5000" */
  base: string;
  /** repository path on that registry, e.g. "library/busybox" */
  repository: string;
  /** tag or digest to ask for */
  reference: string;
}

const ACCEPT = [MEDIA.manifest, MEDIA.index, MEDIA.dockerManifest, 'application/vnd.docker.distribution.manifest.list.v2+json'].join(', ');

export function registryTarget(ref: string): RegistryTarget {
  const p = parseRef(ref);
  const parts = p.name.split('/');
  const first = parts[0]!;
  const hasDomain = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const domain = hasDomain ? first : 'registry-1.docker.io';
  const path = hasDomain ? parts.slice(1).join('/') : parts.length === 1 ? `library/${p.name}` : p.name;
  const host = domain.replace(/:\d+$/, '');
  const insecure = host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host);
  return { base: `${insecure ? 'http' : 'https'}://${domain}`, repository: path, reference: p.digest ?? p.tag ?? 'latest' };
}

export class RegistryClient {
  private token: string | undefined;
  constructor(
    private readonly target: RegistryTarget,
    private readonly opts: { timeoutMs?: number; blobTimeoutMs?: number } = {},
  ) {}

  private async request(path: string, accept: string | undefined, timeoutMs: number): Promise<Response> {
    const url = `${this.target.base}/v2/${this.target.repository}/${path}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const headers: Record<string, string> = {};
      if (accept !== undefined) headers['Accept'] = accept;
      if (this.token !== undefined) headers['Authorization'] = `Bearer ${this.token}`;
      let res: Response;
      try {
        res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
      } catch (e) {
        throw new ImageError(500, `registry ${this.target.base} did not answer ${path}: ${messageOf(e)}`, { cause: e });
      }
      if (res.status === 401 && attempt === 0) {
        const challenge = res.headers.get('www-authenticate') ?? '';
        await res.body?.cancel();
        await this.authenticate(challenge);
        continue;
      }
      return res;
    }
    throw new ImageError(500, `registry ${this.target.base} refused the credentials it issued`);
  }

  /** Anonymous Bearer auth: `realm`, `service` and `scope` from the challenge. */
  private async authenticate(challenge: string): Promise<void> {
    const m = /^Bearer\s+(.*)$/i.exec(challenge);
    if (m === null) throw new ImageError(500, `pull access denied for ${this.target.repository}: the registry asks for ${challenge || 'credentials'} and this engine has none`);
    const params = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (params['realm'] === undefined) throw new ImageError(500, 'registry auth challenge has no realm');
    const u = new URL(params['realm']);
    if (params['service'] !== undefined) u.searchParams.set('service', params['service']);
    u.searchParams.set('scope', params['scope'] ?? `repository:${this.target.repository}:pull`);
    let body: unknown;
    try {
      const res = await fetch(u, { signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      body = await res.json();
    } catch (e) {
      throw new ImageError(500, `getting a registry token from ${u.origin} failed: ${messageOf(e)}`, { cause: e });
    }
    const b = (typeof body === 'object' && body !== null ? body : {}) as { token?: unknown; access_token?: unknown };
    const token = typeof b.token === 'string' ? b.token : typeof b.access_token === 'string' ? b.access_token : undefined;
    if (token === undefined) throw new ImageError(500, 'the registry token endpoint returned no token');
    this.token = token;
  }

  /** The manifest (or index) bytes for a tag or digest, checked against the digest when one was asked for. */
  async manifest(reference: string): Promise<{ bytes: Buffer; digest: Digest; mediaType: string }> {
    const res = await this.request(`manifests/${reference}`, ACCEPT, this.opts.timeoutMs ?? 30_000);
    if (res.status === 404) {
      await res.body?.cancel();
      throw imageNotFound(`manifest for ${this.target.repository}:${reference} not found: manifest unknown`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new ImageError(500, `registry answered ${res.status} for the manifest of ${this.target.repository}:${reference}`);
    }
    const bytes = Buffer.from(await res.arrayBuffer());
    const digest = sha256Of(bytes);
    if (reference.startsWith('sha256:') && reference !== digest) throw new ImageError(500, `registry sent a manifest whose digest ${digest} is not the ${reference} asked for`);
    const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    return { bytes, digest, mediaType };
  }

  /** A blob's bytes as a stream (the caller checks the digest while storing it). */
  async blob(digest: Digest): Promise<Readable> {
    const res = await this.request(`blobs/${digest}`, undefined, this.opts.blobTimeoutMs ?? 600_000);
    if (!res.ok || res.body === null) {
      await res.body?.cancel();
      throw new ImageError(res.status === 404 ? 404 : 500, `registry answered ${res.status} for blob ${digest} of ${this.target.repository}`);
    }
    return Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
  }
}
